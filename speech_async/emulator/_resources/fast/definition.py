"""Decoding and validating the ``definition`` part, as the service does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, cast

import msgspec
from yarl import URL

from ..._config import API_VERSION_2025_10_15
from ..._errors import ServiceError, invalid_argument, invalid_request
from ..._locales import is_supported_locale, is_supported_target_language

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..._config import FastConfig

__all__ = ("MAX_DEFINITION_DEPTH", "Definition", "check_channel_layout", "decode_definition", "parse_definition")

# The real 400 recording's wording for a bad locale.
LOCALE_NOT_SUPPORTED: Final = "The specified locale is not supported."
# Accepted case-insensitively (unverified; .NET enum parsing usually is).
_PROFANITY_MODES: Final = {"none": "None", "removed": "Removed", "tags": "Tags", "masked": "Masked"}
_MIN_SPEAKERS: Final = 2
_MAX_SPEAKERS: Final = 35
_MAX_CHANNEL_ENTRIES: Final = 2
_VALID_CHANNELS: Final = frozenset({0, 1})
_TASKS: Final = ("transcribe", "translate")
# unverified: the service's limit is unknown. It is a .NET service, and System.Text.Json refuses
# JSON nested deeper than its default MaxDepth of 64. A real definition is three levels deep.
MAX_DEFINITION_DEPTH: Final = 64
# Values echoed in error messages are cut to this many characters (a definition may be 1 MiB).
_SHOWN_CHARS: Final = 64


@dataclass(frozen=True, kw_only=True)
class Definition:
    """The validated request options; ``task`` is ``None`` for the standard model."""

    locales: tuple[str, ...] = ()
    profanity_filter_mode: str = "Masked"
    diarization: bool = False
    max_speakers: int | None = None
    channels: tuple[int, ...] | None = None
    task: Literal["transcribe", "translate"] | None = None
    target_language: str | None = None
    prompts: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    audio_url: str | None = None

    @property
    def llm(self) -> bool:
        """Whether LLM speech is used (``enhancedMode`` with ``"enabled": true``)."""
        return self.task is not None


def _body_format(message: str) -> ServiceError:
    # unverified: the codes for a definition that is not JSON or has members of the wrong type.
    return invalid_request("InvalidRequestBodyFormat", message)


def _bad_value(message: str) -> ServiceError:
    # unverified: the inner code for an out-of-range option value.
    return invalid_argument("InvalidParameterValue", message)


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."


def _too_deep() -> ServiceError:
    # unverified: the codes for a definition nested too deeply.
    return _body_format(f"The definition is nested more than {MAX_DEFINITION_DEPTH} levels deep.")


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels (no recursion)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Iterable[object] = cast("dict[str, object]", item).values()
        elif isinstance(item, list):
            children = cast("list[object]", item)
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def decode_definition(raw: bytes) -> dict[str, object]:
    """Parse the definition part; it must be a JSON object at most :data:`MAX_DEFINITION_DEPTH` deep.

    Every failure is a 400 (never a 500, which clients retry): nesting too deep for the decoder
    (it raises :class:`RecursionError`) or for the bound, and a document too large to decode.
    """
    try:
        value: object = msgspec.json.decode(raw.removeprefix(b"\xef\xbb\xbf"))
    except msgspec.DecodeError as exc:
        raise _body_format(f"The definition is not valid JSON: {exc}.") from None
    except RecursionError:
        raise _too_deep() from None
    except MemoryError:
        # unverified: the codes for a definition too large to hold.
        raise _body_format("The definition is too large.") from None
    if not isinstance(value, dict):
        raise _body_format("The definition must be a JSON object.")
    document = cast("dict[str, object]", value)
    if _depth_exceeds(document, MAX_DEFINITION_DEPTH):
        raise _too_deep()
    return document


def _member(obj: dict[str, object], name: str) -> object:
    # JSON null is treated like an absent member, as a .NET deserializer does for nullable members.
    return obj.get(name)


def _list(value: object) -> list[object] | None:
    return cast("list[object]", value) if isinstance(value, list) else None


def _object(obj: dict[str, object], name: str, where: str = "") -> dict[str, object] | None:
    value = _member(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _body_format(f"The definition member '{where}{name}' must be an object.")
    return cast("dict[str, object]", value)


def _strings(obj: dict[str, object], name: str, where: str = "") -> tuple[str, ...] | None:
    value = _member(obj, name)
    if value is None:
        return None
    items = _list(value)
    if items is None or not all(isinstance(item, str) for item in items):
        raise _body_format(f"The definition member '{where}{name}' must be an array of strings.")
    return tuple(cast("list[str]", items))


def _string(obj: dict[str, object], name: str, where: str = "") -> str | None:
    value = _member(obj, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _body_format(f"The definition member '{where}{name}' must be a string.")
    return value


def _boolean(obj: dict[str, object], name: str, where: str = "") -> bool | None:
    value = _member(obj, name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _body_format(f"The definition member '{where}{name}' must be true or false.")
    return value


def _integer(obj: dict[str, object], name: str, where: str = "") -> int | None:
    value = _member(obj, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _body_format(f"The definition member '{where}{name}' must be an integer.")
    return value


def _number(obj: dict[str, object], name: str, where: str = "") -> float | None:
    value = _member(obj, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _body_format(f"The definition member '{where}{name}' must be a number.")
    return float(value)


def _integers(obj: dict[str, object], name: str) -> tuple[int, ...] | None:
    value = _member(obj, name)
    if value is None:
        return None
    items = _list(value)
    if items is None or not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        raise _body_format(f"The definition member '{name}' must be an array of integers.")
    return tuple(cast("list[int]", items))


def _locales(obj: dict[str, object], *, llm: bool) -> tuple[str, ...]:
    locales = _strings(obj, "locales") or ()
    for locale in locales:
        if not is_supported_locale(locale, llm=llm):
            raise invalid_argument("InvalidLocale", LOCALE_NOT_SUPPORTED)
    return locales


def _profanity(obj: dict[str, object]) -> str:
    mode = _string(obj, "profanityFilterMode")
    if mode is None:
        return "Masked"
    canonical = _PROFANITY_MODES.get(mode.casefold())
    if canonical is None:
        raise _bad_value(
            f"The profanity filter mode '{_shown(mode)}' is not supported. "
            "Supported values are None, Removed, Tags and Masked."
        )
    return canonical


def _diarization(obj: dict[str, object]) -> tuple[bool, int | None]:
    diarization = _object(obj, "diarization")
    if diarization is None:
        return False, None
    where = "diarization."
    # Without "enabled": true the service returned no speakers in every recording (unverified
    # whether that is the rule or the single-speaker audio).
    enabled = _boolean(diarization, "enabled", where) is True
    max_speakers = _integer(diarization, "maxSpeakers", where)
    if max_speakers is not None and not _MIN_SPEAKERS <= max_speakers <= _MAX_SPEAKERS:
        raise _bad_value(
            f"diarization.maxSpeakers must be between {_MIN_SPEAKERS} and {_MAX_SPEAKERS}, but was {max_speakers}."
        )
    return enabled, max_speakers


def _channels(obj: dict[str, object], *, diarization: bool) -> tuple[int, ...] | None:
    channels = _integers(obj, "channels")
    if not channels:
        return None
    if any(channel not in _VALID_CHANNELS for channel in channels):
        raise invalid_argument(
            "InvalidChannelSpecification",
            "Only the channels 0 and 1 can be selected in definition.channels.",
        )
    if len(channels) > _MAX_CHANNEL_ENTRIES and not diarization:
        raise invalid_argument(
            "BadChannelConfiguration",
            "At most two channels can be selected unless diarization is enabled.",
        )
    # Diarization with [0, 1] depends on the audio: see check_channel_layout.
    return tuple(sorted(set(channels)))


def check_channel_layout(definition: Definition, audio_channels: int | None) -> None:
    """Refuse what the audio's channel count makes invalid, once the audio has been sniffed.

    Mono audio with diarization and ``channels: [0, 1]`` is served (Errata E3, recorded: 200,
    phrases with ``channel: 0`` and ``speaker``).
    """
    channels = definition.channels
    if not definition.diarization or channels is None or len(channels) < _MAX_CHANNEL_ENTRIES:
        return
    if audio_channels is not None and audio_channels <= 1:
        return
    # unverified: stereo (or an unknown channel count) with diarization and [0, 1] is unrecorded;
    # the docs call multi-channel diarization unsupported, so the emulator keeps refusing it.
    raise invalid_argument(
        "BadChannelConfiguration",
        "Diarization is not supported for multiple channels; select a single channel.",
    )


def _audio_url(obj: dict[str, object]) -> str | None:
    audio_url = _string(obj, "audioUrl")
    if audio_url is None:
        return None
    try:
        url = URL(audio_url)
    except ValueError:
        url = None
    if url is None or not url.absolute or url.scheme not in ("http", "https") or not url.host:
        # unverified: the codes for a malformed audioUrl.
        raise _bad_value(f"The audioUrl '{_shown(audio_url)}' is not a valid absolute http(s) URL.")
    return audio_url


def _phrases(obj: dict[str, object], config: FastConfig) -> tuple[str, ...]:
    phrase_list = _object(obj, "phraseList")
    if phrase_list is None:
        return ()
    phrases = _strings(phrase_list, "phrases", "phraseList.") or ()
    # biasingWeight: type-checked only; its range is documented inconsistently (unverified).
    _number(phrase_list, "biasingWeight", "phraseList.")
    if len(phrases) > config.max_phrases:
        # unverified: the docs only advise at most 500 phrases.
        raise _bad_value(f"The phrase list has {len(phrases)} phrases; at most {config.max_phrases} are allowed.")
    return phrases


@dataclass(frozen=True)
class _Enhanced:
    task: Literal["transcribe", "translate"] | None = None
    target_language: str | None = None
    prompts: tuple[str, ...] = ()


def _enhanced_mode(obj: dict[str, object], config: FastConfig) -> _Enhanced:
    enhanced = _object(obj, "enhancedMode")
    if enhanced is None:
        return _Enhanced()
    where = "enhancedMode."
    enabled = _boolean(enhanced, "enabled", where)
    task = _string(enhanced, "task", where)
    target = _string(enhanced, "targetLanguage", where)
    prompts = _strings(enhanced, "prompt", where) or ()
    _string(enhanced, "model", where)  # MAI-Transcribe model name: accepted, not modelled
    _object(enhanced, "modelOptions", where)
    if enabled is not True:
        # Observed: without "enabled": true the standard model answers (normal meter, real confidence).
        return _Enhanced()
    task = task or "transcribe"
    if task not in _TASKS:
        # unverified: the codes for an unknown task.
        raise _bad_value(f"The enhanced mode task '{_shown(task)}' is not supported.")
    if task == "translate":
        if not target:
            # unverified: the codes for translate without a target language.
            raise _bad_value("enhancedMode.targetLanguage is required for the translate task.")
        if not is_supported_target_language(target):
            # unverified: LLM speech documents nine languages; the inner code is a guess.
            raise invalid_argument(
                "UnsupportedLanguageCode",
                f"The target language '{_shown(target)}' is not supported.",
            )
    if sum(len(prompt) for prompt in prompts) > config.max_prompt_chars:
        # unverified: the codes, and whether the limit is per item or total (total is enforced).
        raise _bad_value(f"enhancedMode.prompt exceeds the maximum length of {config.max_prompt_chars} characters.")
    return _Enhanced(
        task="translate" if task == "translate" else "transcribe",
        target_language=target if task == "translate" else None,
        prompts=prompts,
    )


def parse_definition(obj: dict[str, object], *, api_version: str, config: FastConfig, has_audio: bool) -> Definition:
    """Validate a decoded definition for ``api_version``; raise :class:`ServiceError` if invalid.

    Members newer than the api-version are ignored like any unknown member (unverified), so
    ``audioUrl`` on 2024-11-15 means "no audio".
    """
    current = api_version >= API_VERSION_2025_10_15
    enhanced = _enhanced_mode(obj, config) if current else _Enhanced()
    llm = enhanced.task is not None
    locales = _locales(obj, llm=llm)
    _object(obj, "models")  # custom model URIs: accepted but not supported (unverified)
    profanity = _profanity(obj)
    diarization, max_speakers = _diarization(obj)
    channels = _channels(obj, diarization=diarization)
    phrases = _phrases(obj, config) if current else ()
    audio_url = _audio_url(obj) if current and not has_audio else None
    return Definition(
        locales=locales,
        profanity_filter_mode=profanity,
        diarization=diarization,
        max_speakers=max_speakers,
        channels=channels,
        task=enhanced.task,
        target_language=enhanced.target_language,
        prompts=enhanced.prompts,
        phrases=phrases,
        audio_url=audio_url,
    )
