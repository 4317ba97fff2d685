"""Origami table links: which URL names which table.

Only links on the Origami app's own host (``ORIGAMI_APP_URL``) in the documented form
(``/workspace/<workspace>?table=<table>``, API.md 5) name a table; anything else names
none. What a link names is untrusted: the table is read under the workspace's own key.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# Table ids are uuids (examples also show ``tbl_77``); the same shape buttons accept.
_TABLE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_URL_MAX = 2_000


def to_table_id(url: str, app_url: str) -> str | None:
    if len(url) > _URL_MAX:
        return None
    target, app = urlsplit(url), urlsplit(app_url)
    if target.scheme != "https" or app.hostname is None:
        return None
    try:
        same_port = (target.port or 443) == (app.port or 443)
    except ValueError:  # a port that is no number
        return None
    if (target.hostname or "").lower() != app.hostname.lower() or not same_port:
        return None
    if not target.path.startswith("/workspace/"):
        return None
    tables = parse_qs(target.query).get("table") or []
    if len(tables) != 1 or _TABLE_ID_RE.fullmatch(tables[0]) is None:
        return None
    return tables[0]
