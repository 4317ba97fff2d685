"""An httpx transport on aiohttp's connection pool, for the Origami client.

httpx's own transport (httpcore on anyio) checks every pooled connection, with several
syscalls, on each request. At hundreds of polls a second that was a fifth of the app's CPU
(bench/, watcher capacity). This transport keeps what the client relies on from httpx (its
request and response objects, timeouts, and its exception classes, so every failure is
still an ``httpx.TransportError``) and sends the bytes through aiohttp, already a
dependency through slack-sdk.

Bodies are read whole: Origami's answers are small JSON documents (CSV exports are capped
at 200 rows by the client).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int, keepalive_s: float) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        # Made on first use: an aiohttp session belongs to the running event loop.
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self._keepalive_s
            )
            # No cookie jar: every request carries its own credentials.
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar()
            )
            # aiohttp sends a GET again, unasked, when a kept-alive connection turns out
            # closed. The client's retry policy is the only one: each request it makes
            # has taken its slot of Origami's shared request budget, a hidden one has not.
            self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),  # waiting for a pooled connection, and connecting
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() != "accept-encoding"
        ]
        # httpx offers every encoding it can decode (br, zstd when their packages are
        # installed); offer only what aiohttp surely decodes itself.
        headers.append(("Accept-Encoding", "gzip, deflate"))
        with _as_httpx_errors(request):
            async with self._get_session().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                auto_decompress=True,
                timeout=timeout,
            ) as response:
                content = await response.read()
                # aiohttp decoded any Content-Encoding: drop the headers that describe
                # the encoded body, or httpx would try to decode it again.
                kept = [
                    (k, v)
                    for k, v in response.headers.items()
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
                ]
                return httpx.Response(
                    status_code=response.status,
                    headers=kept,
                    content=content,
                    request=request,
                    extensions={"reason_phrase": (response.reason or "").encode()},
                )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's failures as the httpx exceptions the client handles (most specific first)."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise httpx.TimeoutException(str(exc) or "timeout", request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # malformed status line or headers
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.NetworkError(str(exc) or type(exc).__name__, request=request) from exc
