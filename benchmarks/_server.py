"""A minimal loopback HTTP/1.1 server for the CPU benchmarks, run in its own process.

    python -m benchmarks._server [--words 0]

It prints its URL on the first line of stdout, then serves until killed. Every request's whole body is
read (``Content-Length`` or chunked transfer, with ``Expect: 100-continue`` answered), then answered with
a canned JSON: fast transcription (``/speechtotext/...``: one phrase, or ``--words`` words spread over
phrases of 20), short audio (``/speech/recognition/...``: the simple or the detailed format, after the
``format`` query parameter). Anything else gets a 404. It is a raw ``asyncio.Protocol`` (no framework,
no routing, no logging) so that its own cost stays far below the client's; it runs on its own core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

__all__ = ("fast_result", "main", "short_result")


def fast_result(words: int) -> bytes:
    """A fast-transcription result: one short phrase, or ``words`` words in phrases of 20."""
    if words <= 0:
        phrases: list[dict[str, Any]] = [
            {
                "offsetMilliseconds": 40,
                "durationMilliseconds": 1320,
                "text": "What's the weather like?",
                "words": [
                    {"text": "What's", "offsetMilliseconds": 40, "durationMilliseconds": 360},
                    {"text": "the", "offsetMilliseconds": 400, "durationMilliseconds": 120},
                    {"text": "weather", "offsetMilliseconds": 520, "durationMilliseconds": 440},
                    {"text": "like?", "offsetMilliseconds": 960, "durationMilliseconds": 400},
                ],
                "locale": "en-US",
                "confidence": 0.9876161,
            }
        ]
    else:
        phrases = []
        offset = 0
        for start in range(0, words, 20):
            count = min(20, words - start)
            items = [
                {"text": f"word{start + i}", "offsetMilliseconds": offset + 300 * i, "durationMilliseconds": 280}
                for i in range(count)
            ]
            phrases.append(
                {
                    "offsetMilliseconds": offset,
                    "durationMilliseconds": 300 * count,
                    "text": " ".join(str(w["text"]) for w in items),
                    "words": items,
                    "locale": "en-US",
                    "confidence": 0.91,
                }
            )
            offset += 300 * count
    total = sum(int(p["durationMilliseconds"]) for p in phrases) + 40
    result = {
        "durationMilliseconds": total,
        "combinedPhrases": [{"text": " ".join(str(p["text"]) for p in phrases)}],
        "phrases": phrases,
    }
    return json.dumps(result, separators=(",", ":")).encode()


def short_result(detailed: bool) -> bytes:
    """A short-audio result in the simple or the detailed format."""
    if not detailed:
        result: dict[str, Any] = {
            "RecognitionStatus": "Success",
            "DisplayText": "Remind me to buy 5 pencils.",
            "Offset": 1800000,
            "Duration": 24000000,
        }
    else:
        result = {
            "RecognitionStatus": "Success",
            "Offset": 1800000,
            "Duration": 24000000,
            "NBest": [
                {
                    "Confidence": 0.97,
                    "Lexical": "remind me to buy five pencils",
                    "ITN": "remind me to buy 5 pencils",
                    "MaskedITN": "remind me to buy 5 pencils",
                    "Display": "Remind me to buy 5 pencils.",
                }
            ],
        }
    return json.dumps(result, separators=(",", ":")).encode()


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-RequestId: bench\r\n\r\n"
    )
    return head.encode() + body


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Connection(asyncio.Protocol):
    """One keep-alive connection: headers, then the body (counted, not kept), then the canned answer."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        self._answers = answers
        self._buffer = bytearray()
        self._state = "head"
        self._remaining = 0
        self._answer = _NOT_FOUND
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._state == "length" and not self._buffer:
            # The common case of a large upload: count the bytes without copying them.
            if len(data) < self._remaining:
                self._remaining -= len(data)
                return
            data = data[self._remaining :]
            self._remaining = 0
            self._done()
            if not data:
                return
        self._buffer += data
        self._process()

    def _process(self) -> None:
        buffer = self._buffer
        while True:
            if self._state == "head":
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).decode("latin-1")
                del buffer[: end + 4]
                self._start(head)
            elif self._state == "length":
                take = min(self._remaining, len(buffer))
                del buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._done()
            elif self._state == "chunk-size":
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buffer[:end]).split(b";")[0], 16)
                del buffer[: end + 2]
                if size == 0:
                    self._state = "trailer"
                else:
                    self._remaining = size + 2  # the chunk and its CRLF
                    self._state = "chunk-data"
            elif self._state == "chunk-data":
                take = min(self._remaining, len(buffer))
                del buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._state = "chunk-size"
            else:  # trailer: lines until an empty one
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if not line:
                    self._done()

    def _start(self, head: str) -> None:
        request_line, *lines = head.split("\r\n")
        target = request_line.split(" ")[1]
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        path, _, query = target.partition("?")
        if path.startswith("/speechtotext/"):
            self._answer = self._answers["fast"]
        elif path.startswith("/speech/recognition/"):
            self._answer = self._answers["detailed" if "format=detailed" in query else "simple"]
        else:
            self._answer = _NOT_FOUND
        if headers.get("expect", "").lower() == "100-continue" and self._transport is not None:
            self._transport.write(_CONTINUE)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = "chunk-size"
        else:
            self._remaining = int(headers.get("content-length", "0"))
            self._state = "length"
            if not self._remaining:
                self._done()

    def _done(self) -> None:
        self._state = "head"
        if self._transport is not None:
            self._transport.write(self._answer)


async def _serve(words: int) -> None:
    answers = {
        "fast": _response(fast_result(words)),
        "simple": _response(short_result(False)),
        "detailed": _response(short_result(True)),
    }
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(answers), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--words", type=int, default=0, help="words in the fast-transcription answer (0: one phrase)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
