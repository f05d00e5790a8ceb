"""Every ```python block of README.md runs against the emulator, so the README cannot drift.

How a block runs (the conventions README authors follow):

* Each block runs alone, in a fresh namespace that holds the harness's globals (below) and the
  imports of every block before it (so a snippet may use a name an earlier snippet imported).
* Globals: ``client`` (a :class:`SpeechClient` connected to the emulator), ``endpoint`` (the emulator's
  URL), ``key``, ``credential`` (a ``KeyCredential``), ``token`` and ``fetch_my_token`` (a token you
  manage, and an async function returning it), ``path`` and ``paths`` (sample audio),
  ``speech_emulator``/``emulator`` and ``speech_emulator_key``. ``AZURE_SPEECH_ENDPOINT`` and
  ``AZURE_SPEECH_API_KEY`` point at the emulator, so ``SpeechClient.from_env()`` works too.
* The working directory holds the bundled samples (also under ``data/``), and every audio file name a
  block mentions (``"meeting.wav"``) as a copy of ``hello.wav``; the emulator answers every one of them
  with :data:`README_TRANSCRIPT` (and its German translation).
* A block with top-level ``await`` runs on the test's event loop. A block that calls ``asyncio.run``
  is a program: it runs in a worker thread, with its own loop. A block that defines ``test_*``
  functions is a test module: it is imported in a worker thread, then each test is called with its
  arguments taken by name from the globals.
* A block followed (after blank lines only) by a ```console block must print exactly that.
* Clients a block leaves in its namespace are closed after it; queued faults are dropped.
* ``<!-- readme-test: skip (why) -->`` on the line before a block skips it; the reason is required, and
  any other ``readme-test`` comment is an error.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import functools
import inspect
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from speech_async import KeyCredential, RetryPolicy, SpeechClient, Timeouts
from speech_async.emulator import Emulator, Fault, ScriptedPhrase, ScriptedTranscript

from .support.samples import SAMPLES

README = Path(__file__).resolve().parent.parent / "README.md"

README_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="Hello and thank you for calling.", offset_ms=0, duration_ms=2000),
        ScriptedPhrase(text="How can I help you today?", offset_ms=3000, duration_ms=1480),
    ),
    translations={"de": (ScriptedPhrase(text="Hallo und danke für Ihren Anruf.", offset_ms=0, duration_ms=2000),)},
)

_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^<!--\s*readme-test:(?P<body>.*?)-->\s*$")
_SKIP = re.compile(r"^skip\s*\((?P<reason>.*\S.*)\)$")
_AUDIO_NAME = re.compile(r"""["']([\w./-]+\.(?:wav|flac|mp3|ogg|opus|webm))["']""")


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block of a Markdown file."""

    language: str
    code: str
    line: int  # of its opening fence, 1-based
    heading: str
    skip_reason: str | None = None
    output: str | None = None  # the ```console block that follows it

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "top"
        return f"line{self.line}-{slug}"


def parse_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text``, with its ``readme-test`` directive; raise ``ValueError`` on a bad one."""
    lines = text.splitlines()
    blocks: list[Block] = []
    heading = ""
    directive: tuple[int, str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        found = _DIRECTIVE.match(line.strip())
        if found:
            directive = (index + 1, found["body"].strip())
            index += 1
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        fence = _FENCE.match(line)
        if not fence:
            if line.strip() and directive is not None:
                raise ValueError(f"README line {directive[0]}: a readme-test comment must come right before a block")
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith(fence[1])), None)
        if end is None:
            raise ValueError(f"README line {index + 1}: unclosed code block")
        skip_reason = None
        if directive is not None:
            skip = _SKIP.match(directive[1])
            if skip is None:
                raise ValueError(
                    f"README line {directive[0]}: unknown readme-test comment {directive[1]!r}; "
                    "the only one is 'skip (the reason)', and the reason is required"
                )
            skip_reason = skip["reason"].strip()
            directive = None
        blocks.append(Block(fence[2], "\n".join(lines[index + 1 : end]) + "\n", index + 1, heading, skip_reason))
        index = end + 1
    if directive is not None:
        raise ValueError(f"README line {directive[0]}: a readme-test comment with no block after it")
    return _with_outputs(blocks, lines)


def _with_outputs(blocks: list[Block], lines: list[str]) -> list[Block]:
    result: list[Block] = []
    for block, following in zip(blocks, [*blocks[1:], None], strict=True):
        if following is not None and following.language == "console":
            closing = block.line + block.code.count("\n")  # the 0-based index of block's closing fence
            between = lines[closing + 1 : following.line - 1]
            if all(not line.strip() for line in between):
                block = dataclasses.replace(block, output=following.code)
        result.append(block)
    return result


BLOCKS = parse_blocks(README.read_text(encoding="utf-8"))
PYTHON = [block for block in BLOCKS if block.language == "python"]


# --- the conventions themselves -----------------------------------------------------------------------


def test_the_readme_has_python_blocks_and_skips_are_rare() -> None:
    assert len(PYTHON) >= 10
    assert sum(block.skip_reason is not None for block in PYTHON) <= 2


def test_a_skip_without_a_reason_fails() -> None:
    for bad in ("skip", "skip ()", "skip (  )", "skip because", "setup=x"):
        with pytest.raises(ValueError, match="readme-test comment"):
            parse_blocks(f"# T\n\n<!-- readme-test: {bad} -->\n```python\nprint(1)\n```\n")
    [block] = parse_blocks("<!-- readme-test: skip (needs a microphone) -->\n```python\nx\n```\n")
    assert block.skip_reason == "needs a microphone"


def test_a_directive_must_come_right_before_a_block() -> None:
    with pytest.raises(ValueError, match="right before a block"):
        parse_blocks("<!-- readme-test: skip (why) -->\nsome prose\n```python\nx\n```\n")
    with pytest.raises(ValueError, match="no block after it"):
        parse_blocks("```python\nx\n```\n<!-- readme-test: skip (why) -->\n")


def test_a_console_block_right_after_a_python_block_is_its_expected_output() -> None:
    blocks = parse_blocks("```python\nprint(1)\n```\n\n```console\n1\n```\n\nprose\n\n```console\n2\n```\n")
    assert [(b.language, b.output) for b in blocks] == [("python", "1\n"), ("console", None), ("console", None)]


async def test_a_block_that_prints_something_else_than_its_output_fails(
    readme_globals: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    block = Block("python", 'print("drifted")\n', 1, "t", output="expected\n")
    with pytest.raises(AssertionError, match="prints"):
        await run_block(block, [], readme_globals, capsys)


async def test_a_block_that_raises_fails(readme_globals: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    block = Block("python", 'await client.transcribe("missing-file.wav", filename=None, no_such_option=1)\n', 1, "t")
    with pytest.raises(TypeError):
        await run_block(block, [], readme_globals, capsys)


# --- running the blocks -------------------------------------------------------------------------------


@pytest.fixture
def readme_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A working directory with the samples, and every audio file name the README mentions."""
    (tmp_path / "data").mkdir()
    for sample in SAMPLES.iterdir():
        if sample.suffix in (".wav", ".flac"):
            shutil.copyfile(sample, tmp_path / sample.name)
            shutil.copyfile(sample, tmp_path / "data" / sample.name)
    for block in PYTHON:
        for name in _AUDIO_NAME.findall(block.code):
            target = tmp_path / name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(SAMPLES / "hello.wav", target)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def readme_audio(readme_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in readme_dir.rglob("*") if path.is_file()}


@pytest.fixture
async def readme_globals(
    speech_emulator: Emulator,
    speech_emulator_key: str,
    readme_dir: Path,
    readme_audio: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[dict[str, Any]]:
    for audio in readme_audio.values():
        speech_emulator.scripted.register(audio, README_TRANSCRIPT)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", speech_emulator.url)
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)
    token = "a-token-you-manage"

    async def fetch_my_token() -> str:
        return token

    credential = KeyCredential(speech_emulator_key)
    async with SpeechClient(speech_emulator.url, credential) as client:
        yield {
            "client": client,
            "endpoint": speech_emulator.url,
            "key": speech_emulator_key,
            "credential": credential,
            "token": token,
            "fetch_my_token": fetch_my_token,
            "path": str(readme_dir / "hello.wav"),
            "paths": [str(readme_dir / name) for name in ("hello.wav", "report.wav")],
            "speech_emulator": speech_emulator,
            "emulator": speech_emulator,
            "speech_emulator_key": speech_emulator_key,
            "__file__": str(readme_dir / "readme_block.py"),  # data/ next to it holds the samples
        }


def _imports_of(blocks: list[Block]) -> str:
    """The top-level import statements of ``blocks``, as source."""
    statements: list[str] = []
    for block in blocks:
        for node in ast.parse(block.code).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statements.append(ast.unparse(node))
    return "\n".join(statements)


def _calls_asyncio_run(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "asyncio"
        for node in ast.walk(tree)
    )


def _defines_tests(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_") for node in tree.body
    )


async def run_block(
    block: Block, before: list[Block], globals_: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """Run ``block`` as the module docstring says; returns its namespace."""
    namespace: dict[str, Any] = {"__file__": "readme_block.py", **globals_, "__name__": "__main__"}
    # Imports load modules from disk, which must not happen on the loop: done first, in a worker thread
    # (the block's own too, which then find their modules loaded).
    imports = compile(_imports_of(before), "<README imports>", "exec")
    await anyio.to_thread.run_sync(exec, imports, namespace)
    await anyio.to_thread.run_sync(exec, compile(_imports_of([block]), "<README imports>", "exec"), {})
    tree = ast.parse(block.code)
    source = f"<README.md line {block.line}>"
    capsys.readouterr()
    try:
        if _calls_asyncio_run(tree) or _defines_tests(tree):
            code = compile(block.code, source, "exec")
            await anyio.to_thread.run_sync(exec, code, namespace)
            await _run_tests(namespace, globals_)
        else:
            code = compile(block.code, source, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)  # a coroutine when the block awaits at top level
            if inspect.iscoroutine(result):
                await result
    finally:
        await _close_clients(namespace, globals_)
        emulator = globals_.get("speech_emulator")
        if isinstance(emulator, Emulator):
            emulator.faults.clear()
    printed = capsys.readouterr().out
    if block.output is not None:
        assert printed.rstrip() == block.output.rstrip(), (
            f"the block at README line {block.line} prints\n{printed}\nnot the output shown after it:\n{block.output}"
        )
    return namespace


async def _run_tests(namespace: dict[str, Any], globals_: dict[str, Any]) -> None:
    for name, function in list(namespace.items()):
        if not (name.startswith("test_") and inspect.isfunction(function)):
            continue
        test: Callable[..., Any] = function
        arguments = {parameter: globals_[parameter] for parameter in inspect.signature(test).parameters}
        if inspect.iscoroutinefunction(test):
            await test(**arguments)
        else:
            await anyio.to_thread.run_sync(functools.partial(test, **arguments))


async def _close_clients(namespace: dict[str, Any], globals_: dict[str, Any]) -> None:
    ours = {id(value) for value in globals_.values()}
    for value in namespace.values():
        if isinstance(value, SpeechClient) and id(value) not in ours:
            await value.close()


@pytest.mark.parametrize("block", PYTHON, ids=[block.name for block in PYTHON])
async def test_readme_block_runs_against_the_emulator(
    block: Block, readme_globals: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    if block.skip_reason is not None:
        pytest.skip(block.skip_reason)
    await run_block(block, PYTHON[: PYTHON.index(block)], readme_globals, capsys)


async def test_the_pronunciation_example_gets_a_pronunciation_score(
    readme_globals: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    [block] = [block for block in PYTHON if "pronunciation_assessment=" in block.code]
    namespace = await run_block(block, PYTHON[: PYTHON.index(block)], readme_globals, capsys)
    best = namespace["graded"].best
    assert best.pron_score is not None  # None unless the example asks for dimension="Comprehensive"
    assert best.words


# --- the emulator's records of a client that hung up --------------------------------------------------


async def test_a_request_whose_client_hung_up_before_the_answer_is_recorded_with_status_0(
    speech_emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    speech_emulator.scripted.register(hello_bytes, README_TRANSCRIPT)
    speech_emulator.faults.add(Fault(route="transcribe", delay_headers=1.0))
    async with SpeechClient(
        speech_emulator.url,
        KeyCredential(speech_emulator_key),
        retry=RetryPolicy(max_attempts=1),
        timeout=Timeouts(response=0.2),
    ) as client:
        with pytest.raises(TimeoutError):
            await client.transcribe(hello_bytes)
    await asyncio.sleep(1.5)  # the emulator's delay is over: it would have answered by now
    [record] = [r for r in speech_emulator.requests if r.route == "transcribe"]
    assert record.fault is not None
    assert record.status == 0  # the documented value for "the client went away before an answer"
