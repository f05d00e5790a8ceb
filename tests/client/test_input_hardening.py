"""Input that would reach the wire unsafely is refused, typed, before the network, and never echoes a secret.

Two rules are tested here through the public client:

* every URL a key or token is sent to (the endpoint, the short-audio endpoint, an
  ``IssueTokenCredential`` endpoint) follows one rule, checked when the client is built;
* every value that becomes a header or a query parameter (keys, tokens, the user agent, upload file
  names, issueToken's scope) is refused when it holds what a header cannot carry.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from azure.core.credentials import AccessToken, AzureKeyCredential

from speech_async import (
    BearerToken,
    CredentialError,
    InvalidAudioError,
    InvalidOptionsError,
    IssueTokenCredential,
    KeyCredential,
    PronunciationAssessment,
    ResponseDecodeError,
    RetryPolicy,
    SpeechClient,
)
from speech_async.emulator import Emulator

from ..support.audio import TINY_WAV
from ..support.http import serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT

ONE_ATTEMPT = RetryPolicy(max_attempts=1)
SECRET = "s3cr3t-key-never-shown"  # conftest checks every log record for it
SIGNATURE = "sig-never-shown"
REMOTE = "https://eastus.api.cognitive.microsoft.com"


@pytest.fixture
def emulator(emulator: Emulator) -> Emulator:
    """The conftest emulator, which also knows a transcript for the tiny WAV these tests send."""
    emulator.scripted.register(TINY_WAV, HELLO_TRANSCRIPT)
    return emulator


def chain_texts(error: BaseException) -> list[str]:
    """str and repr of an exception and of everything in its cause/context chain, and any bodies they keep."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(getattr(current, "body", b""))]
        current = current.__cause__ or current.__context__
    return texts


def assert_not_in_chain(secret: str, error: BaseException) -> None:
    for text in chain_texts(error):
        assert secret not in text, text


# --- item 2: one rule for every URL a credential goes to -------------------------------------------------------


def build_with(kind: str, url: str, **options: Any) -> SpeechClient:
    """A client whose ``kind`` URL (endpoint, short-audio endpoint or issueToken endpoint) is ``url``."""
    if kind == "endpoint":
        return SpeechClient(url, KeyCredential("k"), **options)
    if kind == "short_audio_endpoint":
        return SpeechClient(REMOTE, KeyCredential("k"), short_audio_endpoint=url, **options)
    return SpeechClient(REMOTE, IssueTokenCredential(SECRET, endpoint=url), **options)


KINDS = ("endpoint", "short_audio_endpoint", "issue_token_endpoint")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://eastus.api.cognitive.microsoft.com", "must be an https URL"),
        ("not a url", "must be an https URL"),
        ("http://speech.example.com", "is plain http to another machine"),
        ("https://", "must be an https URL"),
        ("https://speech.example.com/a path", "must not contain spaces or control characters"),
        ("https://speech.example.com/\x00", "must not contain spaces or control characters"),
    ],
    ids=["ftp", "not-a-url", "plain-http-remote", "no-host", "space", "nul"],
)
def test_every_url_a_credential_goes_to_follows_the_endpoint_rule(kind: str, url: str, message: str) -> None:
    with pytest.raises(InvalidOptionsError, match=message) as caught:
        build_with(kind, url)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_the_url_rule_names_which_setting_is_wrong(kind: str) -> None:
    with pytest.raises(InvalidOptionsError) as caught:
        build_with(kind, "ftp://speech.example.com")
    names = {
        "endpoint": "the endpoint 'ftp://",
        "short_audio_endpoint": "the short_audio_endpoint 'ftp://",
        "issue_token_endpoint": "the IssueTokenCredential endpoint 'ftp://",
    }
    assert names[kind] in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_plain_http_to_another_machine_is_allowed_only_with_the_clients_opt_in(kind: str) -> None:
    client = build_with(kind, "http://speech.example.com", allow_insecure_http=True)
    assert not client.closed
    build_with(kind, "http://127.0.0.1:5000")  # loopback (an emulator) needs no opt-in
    build_with(kind, "http://localhost:5000")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"https://speech.example.com/?sig={SIGNATURE}", "must not carry a query or fragment"),
        (f"https://speech.example.com/#{SIGNATURE}", "must not carry a query or fragment"),
        (f"https://user:{SIGNATURE}@speech.example.com", "must not carry credentials"),
        (f"ftp://user:{SIGNATURE}@speech.example.com/?sig={SIGNATURE}", "must be an https URL"),
    ],
    ids=["query", "fragment", "userinfo", "ftp-with-everything"],
)
def test_url_messages_never_show_a_query_fragment_or_user_info(kind: str, url: str, message: str) -> None:
    with pytest.raises(InvalidOptionsError, match=message) as caught:
        build_with(kind, url)
    assert_not_in_chain(SIGNATURE, caught.value)


def test_an_issue_token_endpoint_with_the_api_path_in_it_is_refused() -> None:
    credential = IssueTokenCredential(SECRET, endpoint=f"{REMOTE}/sts/v1.0/issueToken")
    with pytest.raises(InvalidOptionsError, match="includes an API path"):
        SpeechClient(REMOTE, credential)


def test_a_short_audio_endpoint_with_the_api_path_in_it_is_refused() -> None:
    url = "https://eastus.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1"
    with pytest.raises(InvalidOptionsError, match="includes an API path"):
        SpeechClient(REMOTE, KeyCredential("k"), short_audio_endpoint=url)


def test_the_endpoint_rule_is_checked_again_when_the_credential_changes() -> None:
    credential = IssueTokenCredential(SECRET)
    SpeechClient(REMOTE, credential)  # the client's own endpoint
    credential.endpoint = "http://speech.example.com"
    with pytest.raises(InvalidOptionsError, match="plain http to another machine"):
        SpeechClient(REMOTE, credential)


def test_an_issue_token_credential_repr_hides_what_its_endpoint_may_carry() -> None:
    credential = IssueTokenCredential(SECRET, endpoint=f"https://user:{SIGNATURE}@host.example/?sig={SIGNATURE}")
    assert SIGNATURE not in repr(credential)
    assert SECRET not in repr(credential)
    assert "host.example" in repr(credential)


# --- item 4: header-bound values -------------------------------------------------------------------------------

BAD_SECRETS = [
    pytest.param(f"{SECRET}\n", "a line feed (U+000A) at position 22", id="trailing-newline"),
    pytest.param(f"{SECRET}\r\nX-Injected: yes", "a carriage return (U+000D)", id="header-injection"),
    pytest.param(f"{SECRET}\x00", "a NUL (U+0000)", id="nul"),
    pytest.param(f" {SECRET}", "a space (U+0020) at position 0", id="leading-space"),
    pytest.param(f"{SECRET}\x7f", "a DEL (U+007F)", id="del"),
    pytest.param(f"{SECRET}\x1b", "a control character (U+001B)", id="escape"),
    pytest.param(f"{SECRET}\u00e9", "a non-ASCII character at position 22", id="non-ascii"),
]


@pytest.mark.parametrize(("value", "problem"), BAD_SECRETS)
def test_keys_that_cannot_go_in_a_header_are_refused_without_showing_them(value: str, problem: str) -> None:
    attempts = [
        lambda: KeyCredential(value),
        lambda: KeyCredential("fine").update(value),
        lambda: IssueTokenCredential(value),
        lambda: IssueTokenCredential(AzureKeyCredential(value)),
        lambda: IssueTokenCredential("fine").update(value),
        lambda: SpeechClient(REMOTE, AzureKeyCredential(value)),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidOptionsError, match="the key has ") as caught:
            attempt()
        assert problem in str(caught.value)
        assert_not_in_chain(SECRET, caught.value)


@pytest.mark.parametrize(("value", "problem"), BAD_SECRETS)
def test_bearer_tokens_that_cannot_go_in_a_header_are_refused_without_showing_them(value: str, problem: str) -> None:
    for attempt in (lambda: BearerToken(value), lambda: BearerToken("fine").update(value)):
        with pytest.raises(InvalidOptionsError, match="the token has ") as caught:
            attempt()
        assert problem in str(caught.value)
        assert_not_in_chain(SECRET, caught.value)


def test_a_bearer_token_with_the_scheme_in_it_gets_a_hint() -> None:
    with pytest.raises(InvalidOptionsError, match="without 'Bearer '"):
        BearerToken(f"Bearer {SECRET}")


async def test_a_key_rotated_to_one_that_cannot_be_sent_fails_before_the_network(emulator: Emulator) -> None:
    credential = AzureKeyCredential("emulator-test-key")
    async with SpeechClient(emulator.url, credential, retry=ONE_ATTEMPT) as client:
        await client.transcribe(TINY_WAV)
        credential.update(f"{SECRET}\r\n")  # azure-core checks nothing
        with pytest.raises(InvalidOptionsError, match="a carriage return") as caught:
            await client.transcribe(TINY_WAV)
    assert_not_in_chain(SECRET, caught.value)
    assert len(emulator.requests) == 1


async def test_an_issue_token_key_rotated_to_one_that_cannot_be_sent_is_a_credential_error(
    emulator: Emulator,
) -> None:
    key = AzureKeyCredential("emulator-test-key")
    async with SpeechClient(emulator.url, IssueTokenCredential(key), retry=ONE_ATTEMPT) as client:
        key.update(f"{SECRET}\n")
        with pytest.raises(CredentialError) as caught:
            await client.transcribe(TINY_WAV)
    assert isinstance(caught.value.__cause__, InvalidOptionsError)
    assert_not_in_chain(SECRET, caught.value)
    assert emulator.requests == []


TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.never-shown-signature"
BAD_TOKENS = [
    pytest.param(f"{TOKEN}\r\nX-Injected: yes", id="crlf"),
    pytest.param(f"{TOKEN}\n", id="newline"),
    pytest.param(f"{TOKEN[:20]}\x00{TOKEN[20:]}", id="nul"),
    pytest.param(f"{TOKEN} ", id="space"),
]


@pytest.mark.parametrize("token", BAD_TOKENS)
@pytest.mark.parametrize("shape", ["str", "access-token"])
async def test_a_provider_token_that_cannot_go_in_a_header_is_a_credential_error(
    emulator: Emulator, token: str, shape: str
) -> None:
    async def provider() -> object:
        return token if shape == "str" else AccessToken(token, 2_000_000_000)

    async with SpeechClient(emulator.url, provider, retry=ONE_ATTEMPT) as client:
        with pytest.raises(CredentialError, match="the token provider returned a token that has ") as caught:
            await client.transcribe(TINY_WAV)
    assert_not_in_chain(TOKEN[20:], caught.value)
    assert emulator.requests == []


class EntraLike:
    """An azure-identity-shaped async credential whose tokens hold a line break."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, 2_000_000_000)

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("token", BAD_TOKENS)
async def test_an_entra_token_that_cannot_go_in_a_header_is_a_credential_error(emulator: Emulator, token: str) -> None:
    async with SpeechClient(emulator.url, EntraLike(token), retry=ONE_ATTEMPT) as client:
        with pytest.raises(CredentialError, match="Entra credential's get_token\\(\\) returned a token that has "):
            await client.transcribe(TINY_WAV)
        with pytest.raises(CredentialError) as caught:
            await client.transcribe(TINY_WAV)
    assert_not_in_chain(TOKEN[20:], caught.value)
    assert emulator.requests == []


@pytest.fixture
async def issue_token_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback issueToken that answers whatever body the test puts in the list."""
    bodies: list[bytes] = []

    async def issue(request: web.Request) -> web.Response:
        return web.Response(body=bodies[0], content_type="application/jwt")

    app = web.Application()
    app.router.add_post("/sts/v1.0/issueToken", issue)
    async with serve_on_loopback(app) as url:
        yield url, bodies


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{TOKEN[:20]}\x00{TOKEN[20:]}", "a token that holds control characters"),
        (f"{TOKEN[:20]}\r\n{TOKEN[20:]}", "a token that holds control characters"),
        (f"{TOKEN}\r\nX-Injected: yes", "not a token, but may hold one"),
        (f"Your token: {TOKEN}", "not a token, but may hold one"),
    ],
    ids=["nul", "crlf-inside", "crlf-header", "prose-around"],
)
async def test_an_issued_token_with_control_characters_is_a_credential_error_that_keeps_nothing_of_it(
    emulator: Emulator, issue_token_server: tuple[str, list[bytes]], body: str, message: str
) -> None:
    url, bodies = issue_token_server
    bodies.append(body.encode())
    credential = IssueTokenCredential("emulator-test-key", endpoint=url)
    async with SpeechClient(emulator.url, credential, retry=ONE_ATTEMPT) as client:
        with pytest.raises(CredentialError, match=message) as caught:
            await client.transcribe(TINY_WAV)
    assert isinstance(caught.value.__cause__, ResponseDecodeError)
    assert caught.value.__cause__.body == b""
    assert_not_in_chain(TOKEN[20:], caught.value)
    assert emulator.requests == []


async def test_an_issue_token_answer_that_is_not_a_token_keeps_its_body(
    emulator: Emulator, issue_token_server: tuple[str, list[bytes]]
) -> None:
    url, bodies = issue_token_server
    bodies.append(b"<html><body>Service unavailable</body></html>")
    async with SpeechClient(emulator.url, IssueTokenCredential("k", endpoint=url), retry=ONE_ATTEMPT) as client:
        with pytest.raises(CredentialError, match="not a token") as caught:
            await client.transcribe(TINY_WAV)
    assert isinstance(caught.value.__cause__, ResponseDecodeError)
    assert caught.value.__cause__.body == bodies[0]


@pytest.mark.parametrize(
    ("user_agent", "problem"),
    [
        ("my-app/1.0\r\nX-Injected: yes", "a carriage return (U+000D) at position 10"),
        ("my-app/1.0\n", "a line feed"),
        ("my-app\x00", "a NUL"),
        ("my-app\x7f", "a DEL"),
        ("my-app (M\u00fcller)", "a non-ASCII character (U+00FC)"),
    ],
)
def test_a_user_agent_that_cannot_go_in_a_header_is_refused(user_agent: str, problem: str) -> None:
    with pytest.raises(InvalidOptionsError, match="user_agent") as caught:
        SpeechClient(REMOTE, KeyCredential("k"), user_agent=user_agent)
    assert problem in str(caught.value)


async def test_a_user_agent_with_spaces_and_tabs_is_sent(emulator: Emulator, speech_emulator_key: str) -> None:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), user_agent="my-app/1.0\t(batch x)") as c:
        await c.transcribe(TINY_WAV)
    agent = emulator.requests[0].header("User-Agent")
    assert agent is not None
    assert agent.endswith(" my-app/1.0\t(batch x)")


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("take\x00.wav", "a NUL (U+0000) at position 4"),
        ("take\r\nContent-Type: text/html.wav", "a carriage return"),
        ("take\n.wav", "a line feed"),
        ("take\t1.wav", "a tab"),
        ("take\x85.wav", "a control character (U+0085)"),
        ("take\udcff.wav", "a lone surrogate"),
    ],
    ids=["nul", "crlf", "lf", "tab", "c1-control", "surrogate"],
)
async def test_a_filename_argument_that_cannot_go_in_the_part_header_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, filename: str, problem: str
) -> None:
    with pytest.raises(InvalidOptionsError, match="Content-Disposition") as caught:
        await client.transcribe(TINY_WAV, filename=filename)
    assert problem in str(caught.value)
    with pytest.raises(InvalidOptionsError, match="Content-Disposition"):
        await client.translate(TINY_WAV, target_language="de", filename=filename)
    assert emulator.requests == []


BAD_FILE_NAMES = ["take\n1.wav", "take\r1.wav", "take\x01.wav", "take\udcff.wav"]


@pytest.fixture
def badly_named_files(tmp_path: Path) -> list[Path]:
    """WAV files whose names hold control characters (and one that is not UTF-8), written outside the loop."""
    paths: list[Path] = []
    for name in BAD_FILE_NAMES:
        path = tmp_path / name
        with open(os.fsencode(path), "wb") as file:
            file.write(TINY_WAV)
        paths.append(path)
    return paths


async def test_a_file_whose_name_cannot_go_in_the_part_header_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, badly_named_files: list[Path]
) -> None:
    for path in badly_named_files:
        with pytest.raises(InvalidAudioError, match=r"the audio's file name .* pass filename="):
            await client.transcribe(path)
        with pytest.raises(InvalidAudioError, match="the audio's file name"):
            await client.transcribe(str(path))
    assert emulator.requests == []
    # The documented way out: send another name.
    await client.transcribe(badly_named_files[0], filename="take 1.wav")
    part = emulator.requests[0].part("audio")
    assert part is not None
    assert part.filename == "take 1.wav"


@pytest.mark.parametrize(
    "filename",
    ['my "best" take.wav', "back\\slash.wav", 'both\\".wav', "r\u00e9union \u4f1a\u8b70.wav", "semi;colon.wav"],
    ids=["quotes", "backslash", "escaped-quote", "non-ascii", "semicolon"],
)
async def test_quotes_and_backslashes_in_a_filename_are_escaped_and_arrive_intact(
    client: SpeechClient, emulator: Emulator, filename: str
) -> None:
    await client.transcribe(TINY_WAV, filename=filename)
    part = emulator.requests[0].part("audio")
    assert part is not None
    assert part.filename == filename
    assert part.header("Content-Type") == "application/octet-stream"


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ("speechservicesmanagement\r\n", "a carriage return"),
        ("speech services", "a space"),
        ("scope\x00", "a NUL"),
    ],
)
def test_an_issue_token_scope_that_cannot_go_in_the_query_is_refused(scope: str, problem: str) -> None:
    with pytest.raises(InvalidOptionsError, match="the IssueTokenCredential scope") as caught:
        SpeechClient(REMOTE, IssueTokenCredential(SECRET, scope=scope))
    assert problem in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"language": "en-US\r\nX-Injected: yes"}, "is not a locale"),
        ({"language": "en-US&cid=x"}, "is not a locale"),
        ({"endpoint_id": "00000000-0000-0000-0000-000000000000\n"}, "is not a custom speech endpoint id"),
        ({"profanity": "raw\r\n"}, "is not one of masked"),
        ({"output_format": "detailed\x00"}, "is not 'simple' or 'detailed'"),
        ({"mode": "conversation/../x"}, "is not one of conversation"),
    ],
    ids=["language-crlf", "language-ampersand", "endpoint-id-newline", "profanity-crlf", "format-nul", "mode-path"],
)
async def test_short_audio_query_parameters_are_checked_before_sending(
    client: SpeechClient, emulator: Emulator, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"language": "en-US", **kwargs}
    with pytest.raises(InvalidOptionsError, match=message):
        await client.recognize(TINY_WAV, **arguments)
    assert emulator.requests == []


async def test_a_scenario_id_that_is_not_text_is_an_options_error(client: SpeechClient, emulator: Emulator) -> None:
    assessment = PronunciationAssessment(reference_text="hello", scenario_id=42)  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidOptionsError, match="is not a GUID"):
        await client.recognize(TINY_WAV, language="en-US", pronunciation_assessment=assessment)
    assert emulator.requests == []
