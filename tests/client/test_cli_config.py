"""The CLI's shared configuration: the strict .env parser, flags > environment > .env, and the key never shown."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from speech_async.cli import main
from speech_async.cli._config import (
    DotEnvError,
    UsageError,
    add_connection_arguments,
    parse_dotenv,
    resolve_settings,
)
from speech_async.emulator import Emulator

from ..support.samples import HELLO_TRANSCRIPT, SAMPLES

SECRET = "s3cr3t-key-never-shown"
NAMES = ("AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_REGION", "AZURE_SPEECH_API_KEY")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_arguments(parser)
    return parser.parse_args(list(argv))


# --- the .env parser ---------------------------------------------------------------------------------


def test_dotenv_forms() -> None:
    text = "\n".join(
        [
            "\ufeff# a comment",
            "",
            "PLAIN=value",
            "SPACED = padded value  # trailing comment",
            "export EXPORTED=yes",
            "SINGLE='lit#eral \\n $x'  # comment",
            'DOUBLE="a \\"quote\\" and \\\\ and \\n"',
            "EMPTY=",
            "HASH_ONLY=#nothing",
            "URL=https://example.com/a#frag",
        ]
    )
    assert parse_dotenv(text) == {
        "PLAIN": "value",
        "SPACED": "padded value",
        "EXPORTED": "yes",
        "SINGLE": "lit#eral \\n $x",
        "DOUBLE": 'a "quote" and \\ and \n',
        "EMPTY": "",
        "HASH_ONLY": "",
        "URL": "https://example.com/a#frag",
    }


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"AZURE_SPEECH_API_KEY {SECRET}", "line 2: expected KEY=VALUE"),
        (f"1KEY={SECRET}", "line 2: the name before '=' is not a variable name"),
        (f"AZURE SPEECH={SECRET}", "line 2: the name before '=' is not a variable name"),
        (f"KEY='{SECRET}", "line 2: the quoted value has no closing quote"),
        (f'KEY="{SECRET}" extra', "line 2: only a comment may follow the closing quote"),
        (f'KEY="{SECRET}\\q"', "line 2: an unknown escape"),
        (f"KEY=it's-{SECRET}", "line 2: a quote inside a bare value"),
        (f"FIRST={SECRET}", "line 2: FIRST is already set on line 1"),
    ],
)
def test_a_bad_line_is_named_and_its_value_never_shown(line: str, reason: str) -> None:
    with pytest.raises(DotEnvError) as raised:
        parse_dotenv(f"FIRST=1\n{line}\n", source="conf/.env")
    assert str(raised.value).startswith("conf/.env ")
    assert reason in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_bad_dotenv_line_is_a_usage_error_of_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".env").write_text(f"AZURE_SPEECH_ENDPOINT=http://127.0.0.1:9\nAZURE_SPEECH_API_KEY '{SECRET}'\n")
    status = main(["transcribe", str(SAMPLES / "hello.wav")])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == "speech-async transcribe: error: .env line 2: expected KEY=VALUE"
    assert SECRET not in err


# --- precedence --------------------------------------------------------------------------------------


def test_flags_win_over_the_environment_which_wins_over_dotenv() -> None:
    Path(".env").write_text(
        "AZURE_SPEECH_ENDPOINT=https://dotenv.example\nAZURE_SPEECH_API_KEY=dotenv-key\nAZURE_SPEECH_REGION=westus\n"
    )
    environ = {"AZURE_SPEECH_ENDPOINT": "https://env.example", "AZURE_SPEECH_API_KEY": "env-key"}
    only_dotenv = resolve_settings(parse(), {})
    assert (only_dotenv.endpoint, only_dotenv.key) == ("https://dotenv.example", "dotenv-key")
    from_env = resolve_settings(parse(), environ)
    assert (from_env.endpoint, from_env.key) == ("https://env.example", "env-key")
    flags = resolve_settings(parse("--endpoint", "https://flag.example", "--key", "flag-key"), environ)
    assert (flags.endpoint, flags.key) == ("https://flag.example", "flag-key")
    # A region flag beats an endpoint from a lower layer; within a layer, the endpoint beats the region.
    region = resolve_settings(parse("--region", "NorthEurope"), environ)
    assert region.endpoint == "https://northeurope.api.cognitive.microsoft.com"
    assert resolve_settings(parse(), {"AZURE_SPEECH_REGION": "eastus"}).endpoint == (
        "https://eastus.api.cognitive.microsoft.com"
    )
    # Each setting on its own: the key can come from .env while the endpoint comes from a flag.
    mixed = resolve_settings(parse("--endpoint", "https://flag.example"), {})
    assert (mixed.endpoint, mixed.key) == ("https://flag.example", "dotenv-key")


def test_env_file_replaces_the_current_directorys(tmp_path: Path) -> None:
    Path(".env").write_text("AZURE_SPEECH_ENDPOINT=https://cwd.example\n")
    other = tmp_path / "other.env"
    other.write_text("export AZURE_SPEECH_ENDPOINT='https://other.example'\n")
    assert resolve_settings(parse("--env-file", str(other)), {}).endpoint == "https://other.example"
    with pytest.raises(UsageError, match="no such file"):
        resolve_settings(parse("--env-file", str(tmp_path / "missing.env")), {})


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ([], {}, "no endpoint: pass --endpoint URL or --region REGION"),
        ([], {"AZURE_SPEECH_REGION": "east us!"}, "is not a region name"),
        ([], {"AZURE_SPEECH_ENDPOINT": "https://e.example", "AZURE_SPEECH_API_KEY": "  "}, "set but empty"),
        (["--emulator", "--key", SECRET], {}, "--emulator runs its own service: drop --key"),
    ],
)
def test_bad_settings_are_usage_errors(argv: list[str], environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve_settings(parse(*argv), environ)
    assert message in str(raised.value)
    assert SECRET not in str(raised.value)


def test_settings_repr_hides_the_key() -> None:
    settings = resolve_settings(parse("--endpoint", "https://e.example", "--key", SECRET), {})
    assert SECRET not in repr(settings)


# --- end to end: the layers reach the service, and the key is never in the output -----------------------


def test_the_layers_reach_the_service(
    speech_emulator: Emulator,
    speech_emulator_key: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    hello = str(SAMPLES / "hello.wav")
    Path(".env").write_text(
        f"AZURE_SPEECH_ENDPOINT={speech_emulator.url}\nAZURE_SPEECH_API_KEY={speech_emulator_key}\n"
    )
    assert main(["transcribe", hello]) == 0  # everything from .env
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", SECRET)  # a wrong key in the environment wins over .env
    assert main(["transcribe", hello]) == 1
    assert main(["transcribe", hello, "--key", speech_emulator_key]) == 0  # and a flag over the environment
    out, err = capsys.readouterr()
    assert "AuthenticationError" in err
    assert SECRET not in out + err
    assert speech_emulator_key not in out + err


def test_help_shows_no_key(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", SECRET)
    for command in (["transcribe"], ["recognize"], ["batch", "submit"]):
        assert main([*command, "--help"]) == 0
        out, _ = capsys.readouterr()
        assert "--key KEY" in out
        assert SECRET not in out
