"""EmulatorConfig: per-area settings, and the flat keywords of 0.1 that still work (and warn)."""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any

import aiohttp
import pytest

from speech_async.emulator import (
    Emulator,
    EmulatorConfig,
    FastConfig,
    ServiceHealth,
    ShortAudioConfig,
    TokenConfig,
)

FLAT_TO_NESTED = [
    ("max_audio_bytes", 1000, "fast", "max_audio_bytes", "FastConfig"),
    ("max_audio_seconds", 5.0, "fast", "max_audio_seconds", "FastConfig"),
    ("max_prompt_chars", 7, "fast", "max_prompt_chars", "FastConfig"),
    ("max_phrases", 3, "fast", "max_phrases", "FastConfig"),
    ("token_lifetime", 42.0, "tokens", "lifetime", "TokenConfig"),
    ("max_short_audio_seconds", 2.5, "short_audio", "max_seconds", "ShortAudioConfig"),
    ("max_assessment_seconds", 1.5, "short_audio", "max_assessment_seconds", "ShortAudioConfig"),
    ("max_short_audio_bytes", 9000, "short_audio", "max_bytes", "ShortAudioConfig"),
]


def test_defaults() -> None:
    config = EmulatorConfig()
    assert config.fast == FastConfig()
    assert config.short_audio == ShortAudioConfig()
    assert config.tokens == TokenConfig()
    assert config.health == ServiceHealth()
    assert (config.fast.max_audio_bytes, config.fast.max_audio_seconds) == (300 * 1024 * 1024, 7200.0)
    assert (config.short_audio.max_seconds, config.short_audio.max_bytes) == (60.0, 10 * 1024 * 1024)
    assert config.tokens.lifetime == 600.0


@pytest.mark.parametrize(
    ("flat", "value", "group", "attribute", "cls"), FLAT_TO_NESTED, ids=[f[0] for f in FLAT_TO_NESTED]
)
def test_the_old_spelling_still_works_and_warns(flat: str, value: Any, group: str, attribute: str, cls: str) -> None:
    expected = f"EmulatorConfig({flat}=...) is deprecated; use EmulatorConfig({group}={cls}({attribute}=...))"
    options: dict[str, Any] = {flat: value}
    with pytest.warns(DeprecationWarning, match=re.escape(expected)):
        config = EmulatorConfig(**options)
    assert getattr(getattr(config, group), attribute) == value
    assert getattr(config, flat) == value  # the flat attribute still reads
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nested: dict[str, Any] = {group: type(getattr(config, group))(**{attribute: value})}
        assert config == EmulatorConfig(**nested)


def test_a_flat_keyword_overrides_its_field_of_the_nested_config() -> None:
    with pytest.warns(DeprecationWarning, match="max_audio_seconds"):
        config = EmulatorConfig(fast=FastConfig(max_phrases=9), max_audio_seconds=5.0)
    assert config.fast == FastConfig(max_phrases=9, max_audio_seconds=5.0)


def test_the_old_spelling_is_still_validated() -> None:
    with (
        pytest.warns(DeprecationWarning, match="token_lifetime"),
        pytest.raises(ValueError, match=r"TokenConfig\.lifetime"),
    ):
        EmulatorConfig(token_lifetime=0)


def test_nested_configs_validate_themselves() -> None:
    with pytest.raises(ValueError, match="max_audio_bytes"):
        FastConfig(max_audio_bytes=0)
    with pytest.raises(ValueError, match="max_bytes"):
        ShortAudioConfig(max_bytes=-1)
    with pytest.raises(ValueError, match="lifetime"):
        TokenConfig(lifetime=float("inf"))
    with pytest.raises(TypeError, match="fast must be a FastConfig"):
        EmulatorConfig(fast={"max_audio_bytes": 1})  # type: ignore[arg-type]


def test_the_config_stays_a_frozen_value() -> None:
    config = EmulatorConfig(key="k", tokens=TokenConfig(lifetime=30))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.key = "other"  # type: ignore[misc]
    changed = dataclasses.replace(config, fast=FastConfig(max_phrases=1))
    assert (changed.key, changed.tokens.lifetime, changed.fast.max_phrases) == ("k", 30, 1)
    assert hash(config) == hash(EmulatorConfig(key="k", tokens=TokenConfig(lifetime=30)))
    assert "tokens=TokenConfig(lifetime=30)" in repr(config)


async def test_nested_limits_reach_the_routes(session: aiohttp.ClientSession) -> None:
    config = EmulatorConfig(key="k", recognizer="scripted", tokens=TokenConfig(lifetime=30))
    async with (
        Emulator(config) as emulator,
        session.post(f"{emulator.url}/sts/v1.0/issueToken", headers={"Ocp-Apim-Subscription-Key": "k"}) as response,
    ):
        assert response.status == 200
        token = await response.text()
    assert emulator.config.tokens.lifetime == 30
    assert len(token.split(".")) == 3
