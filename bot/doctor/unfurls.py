"""Whether pasted table links can unfurl: Slack sends ``link_shared`` only for the
manifest's ``unfurl_domains``, which are fixed when the app is created, while the links the
app reads are on ``ORIGAMI_APP_URL``'s host. A deployment that points ORIGAMI_APP_URL
elsewhere (a staging or white-label Origami) silently loses its unfurls unless the manifest
follows, so the doctor says so."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.doctor.verdicts import Check, Status
from bot.slack.scopes import MANIFEST_UNFURL_DOMAINS

NAME = "Origami link unfurls"


def covered(host: str, domains: tuple[str, ...] = MANIFEST_UNFURL_DOMAINS) -> bool:
    """Slack matches an unfurl domain and every subdomain of it."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def unfurl_domain(app_url: str) -> Check:
    host = urlsplit(app_url).hostname or ""
    if covered(host):
        return Check(NAME, Status.PASS, f"links on {host} unfurl (the manifest's unfurl_domains)")
    listed = ", ".join(MANIFEST_UNFURL_DOMAINS)
    return Check(
        NAME,
        Status.WARN,
        f"ORIGAMI_APP_URL's host {host or '(none)'} is not in the manifest's unfurl_domains "
        f"({listed}): Slack will not send its table links to the app",
        fix=f"add {host} to features.unfurl_domains in the app's manifest (api.slack.com/apps "
        "> App Manifest), and to slack-app-manifest.yml",
    )
