"""Options as mappings, and the obvious shorthands of TranscriptionOptions (issue 9, item 3).

Requests go over real loopback HTTP to the emulator, whose recorded ``definition`` is what the service
would have received; a refused mapping sends nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from speech_async import (
    DiarizationOptions,
    EnhancedMode,
    EnhancedModelOptions,
    InvalidOptionsError,
    PhraseList,
    ProfanityFilterMode,
    SpeechClient,
    TranscriptionOptions,
)
from speech_async.emulator import Emulator, RecordedRequest

pytestmark = pytest.mark.anyio


def sent_definition(emulator: Emulator) -> object:
    requests: list[RecordedRequest] = [r for r in emulator.requests if r.route == "transcribe"]
    assert len(requests) == 1
    return requests[0].definition


def as_option(mapping: dict[str, Any]) -> Any:
    # SpeechClient.transcribe is annotated TranscriptionOptions | None today; mappings work at run time.
    return mapping


async def test_a_mapping_of_python_names_is_sent_as_the_definition(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    result = await client.transcribe(hello_bytes, options=as_option({"locales": ["en-US"]}))
    assert result.text
    assert sent_definition(emulator) == {"locales": ["en-US"]}


async def test_nested_mappings_become_the_nested_structs(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    options = {
        "locales": ["en-US"],
        "profanity_filter_mode": "Tags",
        "diarization": {"max_speakers": 3},
        "phrase_list": {"phrases": ["Contoso"], "biasing_weight": 1.5},
        "enhanced_mode": {"task": "transcribe", "prompt": ["Be terse."], "model_options": {"timestamps": "word"}},
    }
    await client.transcribe(hello_bytes, options=as_option(options))
    assert sent_definition(emulator) == {
        "locales": ["en-US"],
        "profanityFilterMode": "Tags",
        "diarization": {"enabled": True, "maxSpeakers": 3},
        "phraseList": {"phrases": ["Contoso"], "biasingWeight": 1.5},
        "enhancedMode": {
            "enabled": True,
            "task": "transcribe",
            "prompt": ["Be terse."],
            "modelOptions": {"timestamps": "word"},
        },
    }


async def test_wire_names_are_accepted_too(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    # As the REST documentation writes the definition.
    options = {"profanityFilterMode": "Removed", "diarization": {"enabled": True, "maxSpeakers": 2}}
    await client.transcribe(hello_bytes, options=as_option(options))
    assert sent_definition(emulator) == {
        "profanityFilterMode": "Removed",
        "diarization": {"enabled": True, "maxSpeakers": 2},
    }


async def test_mapping_shorthands_are_expanded(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    options = {"diarization": True, "phraseList": ["Contoso", "Jessie"], "enhanced_mode": True}
    await client.transcribe(hello_bytes, options=as_option(options))
    assert sent_definition(emulator) == {
        "diarization": {"enabled": True},
        "phraseList": {"phrases": ["Contoso", "Jessie"]},
        "enhancedMode": {"enabled": True},
    }


async def test_struct_shorthands_are_sent_expanded(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    await client.transcribe(hello_bytes, options=TranscriptionOptions(diarization=True, phrase_list=["Contoso"]))
    assert sent_definition(emulator) == {"diarization": {"enabled": True}, "phraseList": {"phrases": ["Contoso"]}}


def test_shorthands_read_back_expanded() -> None:
    assert TranscriptionOptions(diarization=True).diarization == DiarizationOptions()
    assert TranscriptionOptions(diarization=False).diarization is None
    assert TranscriptionOptions(enhanced_mode=True).enhanced_mode == EnhancedMode()
    assert TranscriptionOptions(enhanced_mode=False).enhanced_mode is None
    assert TranscriptionOptions(phrase_list=["a", "b"]).phrase_list == PhraseList(phrases=["a", "b"])
    # Replacing a field goes through the same expansion.
    base = TranscriptionOptions(locales=["en-US"])
    assert msgspec.structs.replace(base, diarization=True).diarization == DiarizationOptions()
    # And so does decoding a definition.
    decoded = msgspec.json.decode(b'{"diarization":true,"phraseList":["x"]}', type=TranscriptionOptions)
    assert decoded == TranscriptionOptions(diarization=DiarizationOptions(), phrase_list=PhraseList(phrases=["x"]))


def test_a_shorthand_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidOptionsError, match=r"diarization must be DiarizationOptions, True or False, not str"):
        TranscriptionOptions(diarization="yes")  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidOptionsError, match=r"enhanced_mode must be EnhancedMode, True or False, not int"):
        TranscriptionOptions(enhanced_mode=1)  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidOptionsError, match=r"phrase_list must be PhraseList or a list of phrases, not str"):
        TranscriptionOptions(phrase_list="Contoso")  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"diarisation": True}, r"unknown option 'diarisation'; did you mean 'diarization'\?.*extra_definition"),
        ({"local": ["en-US"]}, r"unknown option 'local'; did you mean 'locales'\?"),
        ({"profanityFilter": "Tags"}, r"unknown option 'profanityFilter'; did you mean 'profanityFilterMode'\?"),
        (
            {"diarization": {"maxspeakers": 3}},
            r"unknown option 'diarization.maxspeakers'; did you mean 'diarization.max_speakers'\?",
        ),
        ({"zzz": 1}, r"unknown option 'zzz' \(valid here: locales, audio_url, "),
        ({"locales": "en-US"}, r"option 'locales' must be a list, such as \['en-US'\], not a string"),
        ({"locales": ["en-US", 3]}, r"option 'locales': Expected `str`, got `int` - at `locales\[1\]`"),
        (
            {"diarization": {"max_speakers": "3"}},
            r"option 'diarization.max_speakers': Expected `int \| null`, got `str`",
        ),
        ({"diarization": "yes"}, r"option 'diarization': Expected `bool \| object \| null`, got `str`"),
        ({"profanity_filter_mode": "tags"}, r"option 'profanity_filter_mode': Invalid enum value 'tags'"),
        ({"phrase_list": {"biasing_weight": 1.0}}, r"option 'phrase_list' needs 'phrase_list.phrases'"),
        (
            {"phrase_list": ["a"], "phraseList": ["b"]},
            r"option 'phrase_list' is given twice, as 'phrase_list' and 'phraseList'",
        ),
        ({1: "x"}, r"option keys are field names \(strings\), not 1"),
    ],
)
async def test_a_bad_mapping_is_refused_before_anything_is_sent(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidOptionsError, match=message):
        await client.transcribe(hello_bytes, options=as_option(options))
    assert emulator.requests == []


async def test_the_rules_of_the_service_apply_to_a_mapping_too(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    with pytest.raises(InvalidOptionsError, match="max_speakers is 99"):
        await client.transcribe(hello_bytes, options=as_option({"diarization": {"max_speakers": 99}}))
    with pytest.raises(InvalidOptionsError, match=r"phrase_list\.phrases is empty"):
        await client.transcribe(hello_bytes, options=as_option({"phrase_list": []}))
    assert emulator.requests == []


async def test_options_of_another_kind_are_a_type_error(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    with pytest.raises(TypeError, match="options must be TranscriptionOptions or a mapping, not list"):
        await client.transcribe(hello_bytes, options=as_option(["en-US"]))  # type: ignore[arg-type]
    assert emulator.requests == []


def test_the_public_structs_convert_and_decode_with_msgspec() -> None:
    # The package names its classes' module "speech_async"; their annotations still resolve.
    assert msgspec.convert({"task": "translate", "targetLanguage": "de"}, EnhancedMode) == EnhancedMode(
        task="translate", target_language="de"
    )
    assert msgspec.json.decode(b'{"timestamps":"word"}', type=EnhancedModelOptions) == EnhancedModelOptions(
        timestamps="word"
    )
    assert msgspec.convert({"profanityFilterMode": "Masked"}, TranscriptionOptions).profanity_filter_mode is (
        ProfanityFilterMode.MASKED
    )


async def test_translate_takes_a_mapping(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    from speech_async.emulator import ScriptedPhrase, ScriptedTranscript

    from ..support.samples import HELLO_TRANSCRIPT

    german = (ScriptedPhrase(text="Hallo.", offset_ms=40, duration_ms=2000),)
    emulator.scripted.register(
        hello_bytes, ScriptedTranscript(phrases=HELLO_TRANSCRIPT.phrases, translations={"de": german})
    )
    await client.translate(hello_bytes, target_language="de", options=as_option({"locales": ["en-US"]}))
    definition = sent_definition(emulator)
    assert isinstance(definition, dict)
    assert definition["locales"] == ["en-US"]


async def test_a_pronunciation_assessment_may_be_a_mapping(client: SpeechClient, emulator: Emulator) -> None:
    from ..support.samples import SAMPLES

    result = await client.recognize(
        SAMPLES / "hello.wav",
        language="en-US",
        pronunciation_assessment={"reference_text": "Hello, and thank you for calling.", "dimension": "Comprehensive"},
    )
    best = result.best
    assert best is not None
    assert best.pron_score is not None
    sent = [r for r in emulator.requests if r.route == "short_audio"][-1]
    assert any(name.lower() == "pronunciation-assessment" for name, _ in sent.headers)


async def test_a_bad_pronunciation_assessment_mapping_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator
) -> None:
    from ..support.samples import SAMPLES

    with pytest.raises(InvalidOptionsError, match="reference_txt"):
        await client.recognize(
            SAMPLES / "hello.wav", language="en-US", pronunciation_assessment={"reference_txt": "Hi"}
        )
    assert [r for r in emulator.requests if r.route == "short_audio"] == []
