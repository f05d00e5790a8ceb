"""Decoding a 20,000-word fast-transcription result, and a whole call returning it, against bare msgspec/aiohttp.

    python -m benchmarks.decode [--words 20000] [--repetitions 3] [--quick] [--json PATH]

The result (about 2 MB of JSON: 1,000 phrases of 20 words) is built by ``benchmarks._server``. Every
scenario runs in a fresh process, warms up once, then repeats its work until it has used at least
``--min-cpu`` seconds of CPU (and at least 3 times); the figure is CPU time (``time.process_time()``)
per iteration. Each iteration decodes and then walks the result (every word's text and offset), so a
lazy model pays for what it defers. The order rotates between repetitions; ratios are medians of
per-repetition ratios.

Decode (baseline ``decode-msgspec``: ``msgspec.json.Decoder`` into a hand-written struct of the same
shape and options, ``gc=False`` as ``speech_async``'s own): ``decode-speech_async``
(``msgspec.json.Decoder(speech_async.TranscriptionResult)``, what the client runs), ``decode-json``
(``json.loads``, dicts), ``decode-sdk`` (``json.loads`` and the ``azure-ai-transcription`` model, the
way its client deserializes).

Whole call (baseline ``call-aiohttp``: bare aiohttp ``FormData`` POST of a 32 KB WAV's bytes, the body
decoded by msgspec into the struct), against the minimal loopback server answering the 20,000-word
JSON: ``call-speech_async`` (``SpeechClient.transcribe(bytes)``) and ``call-sdk`` (the SDK's async
client with an in-memory file). One call at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from benchmarks._server import fast_result
from benchmarks._support import BARE_DECODER, median_ratio, run_rotated, spread, start_server, stop, wav, write_results

KEY = "bench-key"
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
DECODES = ("decode-msgspec", "decode-speech_async", "decode-json", "decode-sdk")
CALLS = ("call-aiohttp", "call-speech_async", "call-sdk")
BASELINES = {**dict.fromkeys(DECODES, "decode-msgspec"), **dict.fromkeys(CALLS, "call-aiohttp")}


def _walk_structs(result: Any) -> int:
    return sum(len(word.text) + word.offset_milliseconds for phrase in result.phrases for word in phrase.words)


def _walk_sdk(result: Any) -> int:
    return sum(len(word.text) + word.offset_milliseconds for phrase in result.phrases for word in phrase.words)


def _walk_dicts(result: Any) -> int:
    return sum(
        len(word["text"]) + word["offsetMilliseconds"] for phrase in result["phrases"] for word in phrase["words"]
    )


def _decoder(name: str) -> Callable[[bytes], int]:
    if name == "decode-msgspec":
        return lambda body: _walk_structs(BARE_DECODER.decode(body))
    if name == "decode-speech_async":
        from speech_async import TranscriptionResult

        decoder = msgspec.json.Decoder(TranscriptionResult)
        return lambda body: _walk_structs(decoder.decode(body))
    if name == "decode-json":
        return lambda body: _walk_dicts(json.loads(body))
    from azure.ai.transcription._utils.model_base import _deserialize  # pyright: ignore[reportPrivateUsage]
    from azure.ai.transcription.models import TranscriptionResult as SdkResult

    return lambda body: _walk_sdk(_deserialize(SdkResult, json.loads(body)))


async def _repeat(work: Callable[[], Awaitable[int]], min_cpu: float) -> tuple[int, float, float, int]:
    check = await work()  # warm-up
    iterations, started, cpu = 0, time.perf_counter(), time.process_time()
    while iterations < 3 or time.process_time() - cpu < min_cpu:
        if await work() != check:
            raise RuntimeError("the result changed between iterations")
        iterations += 1
    return iterations, time.perf_counter() - started, time.process_time() - cpu, check


async def _child(name: str, url: str, words: int, min_cpu: float) -> dict[str, Any]:
    if name.startswith("decode-"):
        body = fast_result(words)
        decode = _decoder(name)

        async def work() -> int:
            return decode(body)

        iterations, seconds, cpu, check = await _repeat(work, min_cpu)
    elif name == "call-aiohttp":
        import aiohttp

        audio = wav(bytes(32000))
        headers = {"Ocp-Apim-Subscription-Key": KEY, "Accept": "application/json"}
        async with aiohttp.ClientSession() as session:

            async def work() -> int:
                form = aiohttp.FormData()
                form.add_field("definition", b'{"locales":["en-US"]}', content_type="application/json")
                form.add_field("audio", audio, filename="audio.wav", content_type="application/octet-stream")
                async with session.post(url + TRANSCRIBE, data=form, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {body[:200]!r}")
                return _walk_structs(BARE_DECODER.decode(body))

            iterations, seconds, cpu, check = await _repeat(work, min_cpu)
    elif name == "call-speech_async":
        from speech_async import KeyCredential, SpeechClient, TranscriptionOptions

        audio = wav(bytes(32000))
        options = TranscriptionOptions(locales=["en-US"])
        async with SpeechClient(url, KeyCredential(KEY)) as client:

            async def work() -> int:
                return _walk_structs(await client.transcribe(audio, options=options))

            iterations, seconds, cpu, check = await _repeat(work, min_cpu)
    else:
        from azure.ai.transcription.aio import TranscriptionClient
        from azure.ai.transcription.models import TranscriptionContent
        from azure.ai.transcription.models import TranscriptionOptions as SdkOptions
        from azure.core.credentials import AzureKeyCredential

        audio = wav(bytes(32000))
        async with TranscriptionClient(endpoint=url, credential=AzureKeyCredential(KEY)) as sdk:

            async def work() -> int:
                content = TranscriptionContent(definition=SdkOptions(locales=["en-US"]), audio=io.BytesIO(audio))
                return _walk_sdk(await sdk.transcribe(content))

            iterations, seconds, cpu, check = await _repeat(work, min_cpu)
    return {"name": name, "iterations": iterations, "seconds": seconds, "cpu": cpu / iterations, "check": check}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--words", type=int, default=20000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--min-cpu", type=float, default=0.5, help="CPU seconds each scenario runs for, at least")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 words, 1 repetition")
    parser.add_argument("--json", type=Path, help="where to write the figures (default benchmarks/results/)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(_child(args.child, args.url, args.words, args.min_cpu))
        print(msgspec.json.encode(result).decode())
        return 0
    if args.quick:
        args.words, args.min_cpu = 2000, 0.02
        if "--repetitions" not in sys.argv:
            args.repetitions = 1
    scenarios = (*DECODES, *CALLS)
    server, url = start_server("--words", str(args.words))
    try:
        common = ["--url", url, "--words", str(args.words), "--min-cpu", str(args.min_cpu)]
        rows = run_rotated("benchmarks.decode", scenarios, args.repetitions, lambda _name: common)
    finally:
        stop(server)

    print(
        f"A {args.words:,}-word fast-transcription result ({len(fast_result(args.words)) / 1e6:.1f} MB): decode "
        f"then walk, and a whole call; {args.repetitions} repetition(s), fresh processes, order rotated."
    )
    print(f"{'scenario':<22}{'CPU ms/iteration':>18}{'x baseline':>12}{'(min-max)':>14}  baseline")
    figures: dict[str, dict[str, Any]] = {}
    checks = {row["check"] for runs in rows.values() for row in runs}
    for name, runs in rows.items():
        base = BASELINES[name]
        cpu_ms = statistics.median(1000 * r["cpu"] for r in runs)
        ratio = median_ratio(rows, name, base, "cpu")
        low, high = spread(rows, name, base, "cpu")
        print(f"{name:<22}{cpu_ms:>18.2f}{ratio:>12.3f}{f'({low:.2f}-{high:.2f})':>14}  {base}")
        figures[name] = {
            "cpu_ms": cpu_ms,
            "cpu_x_baseline": ratio,
            "cpu_x_baseline_range": [low, high],
            "baseline": base,
        }
    if len(checks) != 1:
        print(f"FAIL: the scenarios saw different results ({sorted(checks)})")
    settings = {"words": args.words, "repetitions": args.repetitions, "min_cpu": args.min_cpu}
    path = write_results(
        "decode", {"settings": settings, "figures": figures, "runs": rows}, args.json, quick=args.quick
    )
    print(f"JSON: {path}")
    return 0 if len(checks) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
