"""A loopback HTTP/1.1 server of the tests' own that breaks the protocol on purpose.

It shares nothing with the emulator: it parses requests by hand and answers whatever a scenario tells
it to — redirects to another origin, silence after the headers, no ``100 Continue``, bodies larger
than any client should read, odd ``Retry-After`` values, a connection closed mid-upload. The emulator
misbehaves only in the ways it was taught; this finds the rest.

The server runs on its own thread and event loop, so that its work never shows up as the client's
loop lag, and so that it is a separate party on the network, as a real server is. Run as
``python -m tests.hostile_server sink`` it is a sink in a process of its own, for measurements that
even a second thread would disturb (it prints its URL on the first line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

_HEAD_LIMIT = 64 * 1024


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)
    body_complete: bool = False
    """Whether the whole body (by Content-Length or the last chunk) arrived."""


class Conn:
    """The server's side of one connection, handed to a scenario after the request head is read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Seen, index: int) -> None:
        self.reader = reader
        self.writer = writer
        self.seen = seen
        self.index = index
        """0 for the first request the server received, 1 for the next..."""

    @property
    def headers(self) -> dict[str, str]:
        return self.seen.headers

    async def read_body(self, limit: int | None = None) -> bytes:
        """Read the body (Content-Length or chunked), or its first ``limit`` bytes."""
        seen = self.seen
        if "content-length" in seen.headers:
            remaining = int(seen.headers["content-length"])
            while remaining > 0 and (limit is None or len(seen.body) < limit):
                # Never past the limit: a body already buffered whole must still count as cut there.
                wanted = min(remaining, 256 * 1024) if limit is None else min(remaining, limit - len(seen.body))
                chunk = await self.reader.read(wanted)
                if not chunk:
                    return bytes(seen.body)
                seen.body += chunk
                remaining -= len(chunk)
            seen.body_complete = remaining == 0
        elif seen.headers.get("transfer-encoding", "").lower() == "chunked":
            while limit is None or len(seen.body) < limit:
                size_line = await self.reader.readline()
                if not size_line:
                    return bytes(seen.body)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()  # the blank line after the last chunk
                    seen.body_complete = True
                    break
                seen.body += await self.reader.readexactly(size)
                await self.reader.readline()
        else:
            seen.body_complete = True
        return bytes(seen.body)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def respond(
        self,
        status: int,
        body: bytes | dict[str, object] | list[object] = b"",
        headers: dict[str, str] | None = None,
        *,
        reason: str = "Whatever",
    ) -> None:
        """A complete response, after which the connection closes."""
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        fields = {"Content-Length": str(len(data)), "Connection": "close"}
        if isinstance(body, dict | list):
            fields["Content-Type"] = "application/json"
        fields.update(headers or {})
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        await self.send(head.encode("latin-1") + data)

    async def interim_continue(self) -> None:
        await self.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def silence(self) -> None:
        """Say nothing, read nothing, until the client gives up (or the server stops)."""
        await self.reader.read(0)
        await asyncio.Event().wait()

    async def drain_until_closed(self) -> int:
        """Read and drop everything until the client closes; returns the byte count."""
        total = 0
        while chunk := await self.reader.read(256 * 1024):
            total += len(chunk)
        return total


Scenario = Callable[[Conn], Awaitable[None]]


class HostileServer:
    """Runs ``scenario`` for every request, on a thread of its own; see the module docstring."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.requests: list[Seen] = []
        self.bytes_written = 0
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)

    async def __aenter__(self) -> HostileServer:
        # Starting and joining a thread blocks: done in a worker thread, off the test's event loop.
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._handle(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass  # the client hung up, or the server is stopping
            finally:
                handlers.discard(task)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        seen = Seen(method, target, headers)
        index = len(self.requests)  # every handler runs on the server's one loop thread: no race
        self.requests.append(seen)
        await self.scenario(Conn(reader, _CountingWriter(writer, self), seen, index))  # type: ignore[arg-type]


class _CountingWriter:
    """A StreamWriter that counts the bytes the server wrote (to check how much a client read)."""

    def __init__(self, writer: asyncio.StreamWriter, server: HostileServer) -> None:
        self._writer = writer
        self._server = server

    def write(self, data: bytes) -> None:
        self._server.bytes_written += len(data)
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()


def hostile(scenario: Scenario) -> HostileServer:
    """A server for ``scenario``, to use as ``async with hostile(scenario) as server``."""
    return HostileServer(scenario)


TRANSCRIPTION = {
    "durationMilliseconds": 1000,
    "combinedPhrases": [{"text": "hostile"}],
    "phrases": [
        {"offsetMilliseconds": 0, "durationMilliseconds": 1000, "text": "hostile", "locale": "en-US", "confidence": 0.9}
    ],
}
"""A well-formed fast-transcription answer."""

RECOGNITION = {"RecognitionStatus": "Success", "DisplayText": "Hostile.", "Offset": 0, "Duration": 10000000}
"""A well-formed simple short-audio answer."""


async def sink(conn: Conn) -> None:
    """Read the whole body, then answer a transcription."""
    await _drain_body(conn)
    await conn.respond(200, TRANSCRIPTION)


async def _drain_body(conn: Conn) -> None:
    # Like read_body, without keeping the bytes: for uploads of hundreds of MB.
    headers = conn.headers
    if "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining > 0:
            chunk = await conn.reader.read(min(remaining, 1024 * 1024))
            if not chunk:
                return
            remaining -= len(chunk)
    else:
        while True:
            size = int((await conn.reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await conn.reader.readline()
                return
            await conn.reader.readexactly(size)
            await conn.reader.readline()


def _main() -> None:
    """``python -m tests.hostile_server sink``: a sink in its own process, until stdin closes."""
    if sys.argv[1:] != ["sink"]:
        raise SystemExit("usage: python -m tests.hostile_server sink")
    server = hostile(sink)
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _main()
