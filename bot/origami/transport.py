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
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                middlewares=(_no_resend,),
            )
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


class _NotResent(aiohttp.ClientError):
    """A connection failure carried past aiohttp's resend (see ``_no_resend``)."""

    def __init__(self, failure: aiohttp.ClientError) -> None:
        super().__init__(str(failure))
        self.failure = failure


async def _no_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Let a failed send fail instead of being sent again by aiohttp.

    aiohttp sends an idempotent request (a poll's GET) a second time, unasked, when its
    connection breaks (ClientOSError, ServerDisconnectedError). Neither it nor we can tell
    a kept-alive connection the server had closed (the request never arrived) from one cut
    after the server took the request (it arrived, and counts against Origami's limit), and
    the resend would not have taken a slot of Origami's shared request budget (100 a minute
    for the whole org). So the client's retry policy is the only one, and it asks the budget
    first; a stale kept-alive connection costs a backoff instead of an immediate resend.

    aiohttp has no public switch for this (only the private ``_retry_connection``), but it
    resends only those two classes: raised as another one, the failure goes straight to
    ``_as_httpx_errors``, which unwraps it. This costs no CPU that bench/client_overhead.py
    can tell from the private flag's (both within its noise, about 20 µs of 410 µs a poll).
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # a failure to connect: aiohttp never resends it
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _NotResent(exc) from exc


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's failures as the httpx exceptions the client handles."""
    try:
        yield
    except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
        failure = exc.failure if isinstance(exc, _NotResent) else exc
        raise _httpx_error(failure, request) from failure


def _httpx_error(
    exc: aiohttp.ClientError | OSError, request: httpx.Request
) -> httpx.TransportError:
    """The httpx exception for an aiohttp failure (most specific first)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timeout", request=request)
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timeout", request=request)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return httpx.TimeoutException(str(exc) or "timeout", request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # malformed status line or headers
        return httpx.RemoteProtocolError(str(exc), request=request)
    return httpx.NetworkError(str(exc) or type(exc).__name__, request=request)
