"""Locales the emulator accepts, and the language tables LLM speech needs."""

from __future__ import annotations

from typing import Final

__all__ = (
    "LLM_LANGUAGES",
    "MULTILINGUAL_LOCALES",
    "SUBMIT_LOCALES",
    "TRANSCRIBE_LOCALES",
    "is_supported_locale",
    "is_supported_target_language",
    "target_locale",
    "uses_per_character_words",
)

# Multilingual-model locales, from the docs (January 2026).
MULTILINGUAL_LOCALES: Final = (
    "de-DE",
    "en-AU",
    "en-CA",
    "en-GB",
    "en-IN",
    "en-US",
    "es-ES",
    "es-MX",
    "fr-CA",
    "fr-FR",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "zh-CN",
)

# unverified: the real service's list is longer and changes over time; this is the multilingual set
# plus common locales of the speech-to-text language table. The emulator accepts exactly these.
TRANSCRIBE_LOCALES: Final = tuple(
    sorted(
        {
            *MULTILINGUAL_LOCALES,
            "ar-AE",
            "ar-EG",
            "ar-SA",
            "ca-ES",
            "cs-CZ",
            "da-DK",
            "de-AT",
            "de-CH",
            "el-GR",
            "en-IE",
            "en-NZ",
            "en-SG",
            "en-ZA",
            "es-AR",
            "es-CO",
            "es-US",
            "fi-FI",
            "fr-BE",
            "fr-CH",
            "he-IL",
            "hi-IN",
            "hu-HU",
            "id-ID",
            "it-CH",
            "nb-NO",
            "nl-BE",
            "nl-NL",
            "pl-PL",
            "pt-BR",
            "pt-PT",
            "ro-RO",
            "ru-RU",
            "sv-SE",
            "th-TH",
            "tr-TR",
            "uk-UA",
            "vi-VN",
            "zh-HK",
            "zh-TW",
        }
    )
)
# unverified: batch supports more locales than transcribe; the emulator reports the same set.
SUBMIT_LOCALES: Final = TRANSCRIBE_LOCALES

_SUPPORTED: Final = frozenset(locale.casefold() for locale in TRANSCRIBE_LOCALES)

# LLM speech languages (docs): English, Chinese, German, French, Italian, Japanese, Spanish,
# Portuguese, Korean.
LLM_LANGUAGES: Final = ("de", "en", "es", "fr", "it", "ja", "ko", "pt", "zh")

# The locale a translated phrase carries. Only "zh" -> "zh-CN" is shown by a published example;
# the other regions are unverified guesses at each language's main locale.
_TARGET_LOCALES: Final = {
    "de": "de-DE",
    "en": "en-US",
    "es": "es-ES",
    "fr": "fr-FR",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "pt": "pt-BR",
    "zh": "zh-CN",
}
_PER_CHARACTER_LANGUAGES: Final = frozenset({"ja", "ko", "zh"})


def _language(tag: str) -> str:
    return tag.split("-", 1)[0].casefold()


def is_supported_locale(locale: str, *, llm: bool) -> bool:
    """Whether ``locale`` may appear in ``definition.locales``.

    Matching is case-insensitive (unverified). With LLM speech a bare language code of an LLM
    language (``"en"``, as the MAI-Transcribe docs send) is accepted too (unverified).
    """
    if locale.casefold() in _SUPPORTED:
        return True
    return llm and locale.casefold() in LLM_LANGUAGES


def is_supported_target_language(language: str) -> bool:
    """Whether ``enhancedMode.targetLanguage`` names an LLM-speech language (``"ko"``, ``"zh-CN"``)."""
    return _language(language) in LLM_LANGUAGES


def target_locale(language: str) -> str:
    """The phrase locale for a translation into ``language``."""
    if "-" in language:
        return language
    return _TARGET_LOCALES.get(language.casefold(), language)


def uses_per_character_words(locale: str) -> bool:
    """Whether translated text in ``locale`` is split into one word per character (zh, ja, ko)."""
    return _language(locale) in _PER_CHARACTER_LANGUAGES
