"""The text forms of a short-audio result: lexical, ITN, masked ITN and display text.

The real service derives them with language models (inverse text normalization, punctuation,
capitalization, profanity detection). The emulator derives them from the recognizer's display text
with simple rules, all of them stand-ins (unverified): lower-case words without punctuation for the
lexical and ITN forms, English numbers spelled out in the lexical form, a small profanity list, and
spoken punctuation for dictation mode.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = (
    "PROFANITY_WORDS",
    "ProfanityOption",
    "apply_profanity",
    "dictation_display",
    "itn_form",
    "lexical_form",
    "lexical_words",
    "words_of",
)

ProfanityOption = Literal["masked", "removed", "raw"]

# unverified: the service's profanity list is its own and per language; this small English stand-in
# lets tests exercise the three profanity options.
PROFANITY_WORDS: Final = frozenset(
    {"asshole", "bastard", "bitch", "bullshit", "crap", "damn", "fuck", "fucking", "shit"}
)

# A word: letters/digits with inner apostrophes ("what's"), or a number with inner "." / ":" ("3.5",
# "10:30"). Hyphens, commas and other punctuation separate words.
_WORD: Final = re.compile(r"\d+(?:[.:]\d+)+|[^\W_]+(?:['\u2019][^\W_]+)*")
_SPOKEN_PUNCTUATION: Final = {"period": ".", "comma": ",", "question mark": "?"}
_SENTENCE_END: Final = frozenset(".?")
_TRAILING: Final = ".,;:!?"

_ONES: Final = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS: Final = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES: Final = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_MAX_SPELLED: Final = 10**12 - 1


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without punctuation."""
    return [match.group().lower() for match in _WORD.finditer(text)]


def _below_thousand(number: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= len(_ONES):
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def _spell_integer(digits: str) -> list[str]:
    number = int(digits)
    if number > _MAX_SPELLED or (len(digits) > 1 and digits.startswith("0")):
        # Codes and very long numbers are read digit by digit.
        return [_ONES[int(digit)] for digit in digits]
    words: list[str] = []
    for scale, name in _SCALES:
        count, number = divmod(number, scale)
        if count:
            words += [*_below_thousand(count), name]
    if number or not words:
        words += _below_thousand(number)
    return words


def _spell(word: str) -> list[str]:
    if word.isdigit():
        return _spell_integer(word)
    if ":" in word:
        # Times: "10:30" -> "ten thirty".
        return [spelled for piece in word.split(":") for spelled in _spell_integer(piece)]
    if "." in word and word.replace(".", "").isdigit():
        whole, _, fraction = word.partition(".")
        return [*_spell_integer(whole), "point", *(_ONES[int(digit)] for digit in fraction if digit.isdigit())]
    return [word]


def itn_form(text: str) -> str:
    """The ITN form: lower-case words without punctuation, numbers as digits.

    unverified: the emulator performs no inverse text normalization of its own; it keeps the
    recognizer's digits and words as they are.
    """
    return " ".join(words_of(text))


def lexical_words(text: str, language: str) -> list[str]:
    """The words of the lexical form: lower-case, no punctuation; for English, numbers spelled out.

    unverified: other languages keep their digits (the emulator spells numbers in English only).
    """
    words = words_of(text)
    if language.split("-", 1)[0].casefold() != "en":
        return words
    return [spelled for word in words for spelled in _spell(word)]


def lexical_form(text: str, language: str) -> str:
    """The lexical form (:func:`lexical_words` joined by spaces)."""
    return " ".join(lexical_words(text, language))


def _is_profane(chunk: str) -> bool:
    return any(word in PROFANITY_WORDS for word in words_of(chunk))


def _mask(chunk: str) -> str:
    return _WORD.sub(lambda m: "*" * len(m.group()) if m.group().lower() in PROFANITY_WORDS else m.group(), chunk)


def apply_profanity(text: str, option: ProfanityOption) -> str:
    """``text`` with the ``profanity`` query option applied to the words of :data:`PROFANITY_WORDS`.

    ``masked`` replaces each letter by ``*`` (unverified: the mask's exact form), ``removed`` drops the
    word and keeps the punctuation that followed it, ``raw`` changes nothing.
    """
    if option == "raw":
        return text
    if option == "masked":
        return _mask(text)
    kept: list[str] = []
    for chunk in text.split():
        if not _is_profane(chunk):
            kept.append(chunk)
            continue
        remainder = _WORD.sub(lambda m: "" if m.group().lower() in PROFANITY_WORDS else m.group(), chunk)
        if any(char.isalnum() for char in remainder):
            kept.append(remainder)
            continue
        tail = remainder.lstrip().lstrip("\"'([{")
        # The mark that ended the dropped word now ends the word before, unless that one has its own.
        if kept and tail and all(char in _TRAILING for char in tail) and kept[-1][-1:] not in _TRAILING:
            kept[-1] += tail
    return " ".join(kept)


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


def dictation_display(text: str) -> str:
    """Spoken punctuation turned into marks, as dictation mode does (documented: "period", "comma").

    "period", "comma" and "question mark" become ``.``, ``,`` and ``?`` attached to the word before,
    and the word after a ``.`` or ``?`` is capitalized. unverified: the exact rules of the service's
    dictation model (which other phrases it knows, how it capitalizes).
    """
    tokens = text.split()
    out: list[str] = []
    capitalize_next = True
    index = 0
    while index < len(tokens):
        mark: str | None = None
        pair = " ".join(tokens[index : index + 2]).lower().rstrip(_TRAILING)
        single = tokens[index].lower().rstrip(_TRAILING)
        if pair in _SPOKEN_PUNCTUATION:
            mark, index = _SPOKEN_PUNCTUATION[pair], index + 2
        elif single in _SPOKEN_PUNCTUATION:
            mark, index = _SPOKEN_PUNCTUATION[single], index + 1
        if mark is not None:
            if out:
                out[-1] = out[-1].rstrip(_TRAILING) + mark
            capitalize_next = mark in _SENTENCE_END
            continue
        word = tokens[index]
        out.append(_capitalized(word) if capitalize_next else word)
        capitalize_next = word[-1:] in _SENTENCE_END
        index += 1
    return " ".join(out)
