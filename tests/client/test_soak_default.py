"""The default retry policy delivers a bulk run through 20 % independent faults: every file once, byte-exact.

200 distinct files go through one client at once while the emulator gives each attempt, independently,
a fault with probability 0.2, drawn from: 503, 500, 502, 408, 429 with ``Retry-After``, 429 without it,
and a connection dropped mid-upload. A call is lost only if all its attempts fail: with the default
ten attempts that is 0.2**10 per call, about 2e-5 per run of 200 files (five attempts: about 6 %).
The fault draws are seeded, so which faults are injected, and how many, is the same in every run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, defaultdict

from speech_async import KeyCredential, SpeechClient, TranscriptionResult
from speech_async.emulator import Emulator, Fault, RecordedRequest, ScriptedPhrase, ScriptedTranscript

from ..support.audio import make_wav

FILES = 200
RATE = 0.2
SEED = 20261121
FAULTS = (
    Fault(status=503),
    Fault(status=500),
    Fault(status=502),
    Fault(status=408),
    # The emulator sends Retry-After in whole seconds (rounded up); one second is the shortest real ask.
    Fault(status=429, retry_after=1),
    Fault(status=429),
    # Each file is 3,244 bytes of audio in a multipart body: 1 KiB in, the upload is cut mid-file.
    Fault(drop_after_request_bytes=1024),
)
FAULT_KINDS = {"status-503", "status-500", "status-502", "status-408", "status-429", "drop-after-request-bytes"}


def audio_part_sha256(record: RecordedRequest) -> str | None:
    part = record.part("audio")
    return None if part is None else part.sha256


async def test_the_default_policy_delivers_200_files_once_byte_exact_through_20_percent_faults(
    speech_emulator: Emulator, speech_emulator_key: str
) -> None:
    files = [make_wav(seconds=0.1, fill=index) for index in range(FILES)]
    digests = [hashlib.sha256(data).hexdigest() for data in files]
    assert len(set(digests)) == FILES, "every file has its own bytes"
    for index, data in enumerate(files):
        phrase = ScriptedPhrase(text=f"file {index}", offset_ms=0, duration_ms=100)
        speech_emulator.scripted.register(data, ScriptedTranscript(phrases=(phrase,)))
    speech_emulator.faults.random(rate=RATE, faults=FAULTS, seed=SEED)

    # The library's default RetryPolicy: no retry= here, on purpose.
    async with SpeechClient(speech_emulator.url, KeyCredential(speech_emulator_key)) as client:
        results: list[TranscriptionResult | BaseException] = await asyncio.gather(
            *(client.transcribe(data, filename=f"file-{index}.wav") for index, data in enumerate(files)),
            return_exceptions=True,
        )

    failed = {index: repr(result) for index, result in enumerate(results) if isinstance(result, BaseException)}
    assert not failed, f"{len(failed)} of {FILES} calls failed: {dict(list(failed.items())[:5])}"
    texts = [result.text for result in results if isinstance(result, TranscriptionResult)]
    assert texts == [f"file {index}" for index in range(FILES)], "every call got its own file's transcript"

    records = list(speech_emulator.requests)
    applied = speech_emulator.faults.counts()
    assert sum(applied.values()) == sum(1 for r in records if r.fault is not None)
    assert set(applied) == FAULT_KINDS, f"every kind of fault was injected: {applied}"
    assert sum(applied.values()) >= 0.1 * len(records), f"faults really hit about 20 % of attempts: {applied}"

    # Delivered exactly once: one success per file, and one per logical call (client request id).
    successes = [r for r in records if r.status == 200]
    assert all(r.fault is None and r.body_complete for r in successes)
    assert Counter(audio_part_sha256(r) for r in successes) == Counter(digests), "each file answered exactly once"
    per_call = Counter(r.client_request_id for r in successes)
    assert None not in per_call
    assert len(per_call) == FILES
    assert set(per_call.values()) == {1}

    # Byte-exact: every attempt of a call that arrived whole (the success, and the status faults, which
    # read the whole upload before answering) carried the same body as the success, whose audio part is
    # the file, byte for byte. Cut uploads never arrive whole.
    by_call: defaultdict[str | None, list[RecordedRequest]] = defaultdict(list)
    for record in records:
        by_call[record.client_request_id].append(record)
    assert set(by_call) == set(per_call), "no attempt without a successful call"
    for call_id, attempts in by_call.items():
        complete = [a for a in attempts if a.body_complete]
        assert len({a.attempt_body_sha256 for a in complete}) == 1, f"call {call_id}: different bodies sent"
        parsed = {audio_part_sha256(a) for a in complete if a.parts}
        assert len(parsed) == 1, f"call {call_id}: audio changed between attempts"
        assert parsed <= set(digests), f"call {call_id}: its audio is not one of the files"
        assert not [a for a in attempts if a.fault == "drop-after-request-bytes" and a.body_complete]
        assert len(attempts) <= 10, "never more attempts than the default policy allows"
    assert len(records) == FILES + sum(applied.values()), "one extra attempt per fault, no more"
