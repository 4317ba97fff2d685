"""A loopback TCP proxy in front of Redis that counts round trips.

A round trip is what the client waits for: it writes (one command, a pipeline, a MULTI
block or an EVALSHA), then reads the answer. The proxy counts, per client connection,
each time the client starts writing after the server last answered; commands written in
one go (a pipeline or transaction) are one round trip, however many TCP segments they
take. Each round trip keeps the commands it carried (name and first arguments) so the
bench can tell what it was for. Only for counting: it adds latency, so figures that time
anything do not go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class RoundTrip:
    at: float = field(default_factory=time.time)  # when the client started writing
    commands: list[list[str]] = field(default_factory=list)
    answer_head: bytes = b""  # the first bytes of Redis' answer

    def names(self) -> list[str]:
        return [c[0].upper() for c in self.commands if c]


class _RespReader:
    """Incremental parser of what a client writes (RESP arrays of bulk strings)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[list[str]]:
        self.buffer += data
        commands: list[list[str]] = []
        while True:
            parsed = self._one()
            if parsed is None:
                return commands
            commands.append(parsed)

    def _one(self) -> list[str] | None:
        buf = self.buffer
        if not buf:
            return None
        if buf[:1] != b"*":  # inline command (redis-cli style): one line
            end = buf.find(b"\r\n")
            if end < 0:
                return None
            line = bytes(buf[:end]).decode(errors="replace").split()
            del buf[: end + 2]
            return line
        end = buf.find(b"\r\n")
        if end < 0:
            return None
        count = int(buf[1:end])
        pos = end + 2
        args: list[str] = []
        for _ in range(count):
            end = buf.find(b"\r\n", pos)
            if end < 0 or buf[pos : pos + 1] != b"$":
                return None
            size = int(buf[pos + 1 : end])
            start = end + 2
            if len(buf) < start + size + 2:
                return None
            if len(args) < 6:  # name, and enough to tell scripts apart by their keys
                args.append(bytes(buf[start : start + min(size, 200)]).decode(errors="replace"))
            pos = start + size + 2
        del buf[:pos]
        return args


class CountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.trips: list[RoundTrip] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def mark(self) -> int:
        return len(self.trips)

    def since(self, mark: int) -> list[RoundTrip]:
        return self.trips[mark:]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        state = {"answered": True}
        current: list[RoundTrip | None] = [None]
        resp = _RespReader()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                if state["answered"] or current[0] is None:
                    trip = RoundTrip()
                    self.trips.append(trip)
                    current[0] = trip
                    state["answered"] = False
                trip_now = current[0]
                assert trip_now is not None
                trip_now.commands += resp.feed(data)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                state["answered"] = True
                if current[0] is not None and not current[0].answer_head:
                    current[0].answer_head = bytes(data[:128])
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(client_to_server(), server_to_client())
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # The app went away, or the proxy is stopping: this connection is over.
            pass
        finally:
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()
            if task is not None:
                self._tasks.discard(task)
