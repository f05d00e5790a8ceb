"""Rules for text that goes on the wire: URLs a credential is sent to, and header-bound values.

One rule decides every URL the client sends a key or a token to (the resource endpoint, the
short-audio endpoint, an issueToken endpoint): :func:`check_endpoint`. One function finds the first
character a header cannot carry: :func:`bad_character`. Error messages show URLs through
:func:`redact_url` (in :mod:`._headers`, which errors may import), which drops user info, query and
fragment (they may carry a secret).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Final

from yarl import URL

from ._exceptions import InvalidOptionsError
from ._headers import redact_url

__all__ = ["bad_character", "check_endpoint", "is_loopback", "redact_url"]

ENDPOINT_HINT: Final = (
    "such as https://eastus.api.cognitive.microsoft.com or https://<resource>.cognitiveservices.azure.com"
)
REGIONAL_ENDPOINT: Final = "https://{region}.api.cognitive.microsoft.com"
"""The resource endpoint of a region: what ``eastus`` alone most likely meant."""
_REGION: Final = re.compile(r"[a-z][a-z0-9]{2,30}")
_HOST_LIKE: Final = re.compile(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:[0-9]+)?(/[^\s]*)?")
_SPEECH_HOST: Final = re.compile(r"(?:(?P<region>[a-z0-9]+)\.(?P<service>[a-z0-9]+)\.)?speech\.microsoft\.com\.?")
_OPENAI_HOST: Final = re.compile(r"(?P<name>[a-z0-9-]+)\.openai\.azure\.com\.?")
_SPEECH_SERVICES: Final = {
    "stt": "the speech-to-text host of short-audio recognition and the Speech SDK",
    "tts": "the text-to-speech host",
}
_CHARACTER_NAMES: Final = {
    0x00: "a NUL",
    0x09: "a tab",
    0x0A: "a line feed",
    0x0D: "a carriage return",
    0x20: "a space",
    0x7F: "a DEL",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(
    endpoint: object,
    *,
    what: str,
    allow_insecure_http: bool,
    api_paths: tuple[str, ...] = (),
    hint: str = ENDPOINT_HINT,
    empty_hint: str = "",
    region_url: str = REGIONAL_ENDPOINT,
    resource_endpoint: bool = False,
) -> URL:
    """The one rule for a URL that keys or tokens are sent to; returns it without a trailing slash.

    It must be an http(s) URL with a host; https, or plain http only to this machine unless
    ``allow_insecure_http``; without user info, query or fragment, spaces or control characters; and
    without any of ``api_paths`` in its path (the client adds those paths itself). ``what`` names the
    setting in messages ("the endpoint"); every message shows the URL through :func:`redact_url`.
    Text without a scheme gets a suggestion: a region name (``eastus``) becomes ``region_url`` with the
    region in it, a host name gets ``https://``. With ``resource_endpoint``, the hosts of other services
    (``*.stt.speech.microsoft.com``, ``*.tts.speech.microsoft.com``, ``*.openai.azure.com``) are refused
    with the resource endpoint that was probably meant.

    Raises:
        TypeError: ``endpoint`` is not a str.
        InvalidOptionsError: it breaks the rule.
    """
    if not isinstance(endpoint, str):
        raise TypeError(f"{what} must be a str, got {type(endpoint).__name__}")
    text = endpoint.strip()
    if not text:
        raise InvalidOptionsError(f"{what} is empty{empty_hint}")
    shown = redact_url(text)
    try:
        url = URL(text)
        host = url.host
    except ValueError as err:
        cause = None if _leaks(err, text) else err
        raise InvalidOptionsError(f"{what} {shown!r} is not a URL {hint}") from cause
    if url.scheme not in ("https", "http") or not host:
        suggestion = None if "://" in text else _suggest(text, region_url)
        if suggestion is not None:
            raise InvalidOptionsError(f"{what} {shown!r} must be an https URL: did you mean {suggestion}?")
        raise InvalidOptionsError(f"{what} {shown!r} must be an https URL {hint}")
    if url.user or url.password:
        raise InvalidOptionsError(
            f"{what} must not carry credentials (user info before '@'): pass them as the credential"
        )
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        raise InvalidOptionsError(
            f"{what} {shown!r} is plain http to another machine: the key or token would cross the network "
            "in clear text; use https, or pass allow_insecure_http=True if the network is trusted"
        )
    if url.query_string or url.fragment or "?" in text or "#" in text:
        raise InvalidOptionsError(f"{what} {shown!r} must not carry a query or fragment")
    problem = bad_character(text, allow_non_ascii=True)
    if problem is not None:
        raise InvalidOptionsError(f"{what} {shown!r} must not contain spaces or control characters: it has {problem}")
    if resource_endpoint:
        _check_resource_host(host, what, shown)
    path = url.path.lower()
    for api_path in api_paths:
        if api_path in path:
            raise InvalidOptionsError(
                f"{what} {shown!r} includes an API path: pass only the resource endpoint {hint}; "
                "the client adds the paths itself"
            )
    return url.with_path(url.path.rstrip("/"))


def _suggest(text: str, region_url: str) -> str | None:
    # What scheme-less text most likely meant: a region's endpoint, or the host with https:// before it.
    if _REGION.fullmatch(text.lower()):
        return region_url.format(region=text.lower())
    if _HOST_LIKE.fullmatch(text) and bad_character(text) is None:
        return f"https://{text.rstrip('/')}"
    return None


def _check_resource_host(host: str, what: str, shown: str) -> None:
    # The hosts of other services, which a resource endpoint is easily confused with.
    lowered = host.lower()
    speech = _SPEECH_HOST.fullmatch(lowered)
    if speech is not None:
        region, service = speech["region"], speech["service"]
        meant = (
            f"{REGIONAL_ENDPOINT.format(region=region)} (or your resource's https://<resource>.cognitiveservices.azure.com)"
            if region
            else f"the resource endpoint, {ENDPOINT_HINT}"
        )
        kind = _SPEECH_SERVICES.get(service or "", "a Speech service host")
        derived = (
            "; the client derives the short-audio host from it, or takes that host as short_audio_endpoint=..."
            if service == "stt"
            else ""
        )
        raise InvalidOptionsError(f"{what} {shown!r} is {kind}, not a resource endpoint: pass {meant}{derived}")
    openai = _OPENAI_HOST.fullmatch(lowered)
    if openai is not None:
        raise InvalidOptionsError(
            f"{what} {shown!r} is an Azure OpenAI endpoint, not a Speech one: pass the resource's "
            f"https://{openai['name']}.cognitiveservices.azure.com endpoint (or a regional one {ENDPOINT_HINT})"
        )


def bad_character(
    value: str,
    *,
    allow_space: bool = False,
    allow_tab: bool = False,
    allow_non_ascii: bool = False,
    secret: bool = False,
) -> str | None:
    """The first character of ``value`` that cannot go on the wire as it is, described, or ``None``.

    Always refused: control characters (C0, DEL, C1; tabs unless ``allow_tab``) and lone surrogates;
    spaces unless ``allow_space``; anything outside ASCII unless ``allow_non_ascii``. The description
    names the character by its kind and position, such as "a line feed (U+000A) at position 32"; with
    ``secret``, a character that could be part of the secret is not named, only located.
    """
    for position, char in enumerate(value):
        code = ord(char)
        if 0x21 <= code <= 0x7E or (allow_space and code == 0x20) or (allow_tab and code == 0x09):
            continue
        category = unicodedata.category(char)
        if code > 0x7E and category not in ("Cc", "Cs") and allow_non_ascii:
            continue
        name = _CHARACTER_NAMES.get(code)
        if name is None:
            name = (
                "a control character"
                if category == "Cc"
                else "a lone surrogate (text decoded from bytes that are not UTF-8)"
                if category == "Cs"
                else "a non-ASCII character"
            )
            if category not in ("Cc", "Cs") and secret:
                return f"{name} at position {position}"
        return f"{name} (U+{code:04X}) at position {position}"
    return None


def _leaks(err: ValueError, text: str) -> bool:
    # yarl's messages may quote the URL, user info or query included: then the cause is dropped.
    message = str(err)
    return any(part and part in message for part in (text.partition("?")[2], text.partition("#")[2], _userinfo(text)))


def _userinfo(text: str) -> str:
    _, sep, rest = text.partition("://")
    authority = rest.partition("/")[0] if sep else ""
    return authority.rpartition("@")[0]
