"""``python -m speech_async``: the ``speech-async`` command (same as ``python -m speech_async.cli``)."""

from speech_async.cli.__main__ import run

run()
