"""The callback headers and their signature: base64(HMAC-SHA256(UTF-8 secret, payload)) (addendum §3.7)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

__all__ = ("EVENT_HEADER", "SIGNATURE_HEADER", "sign")

EVENT_HEADER: Final = "X-MicrosoftSpeechServices-Event"
SIGNATURE_HEADER: Final = "X-MicrosoftSpeechServices-Signature"


def sign(secret: str, payload: bytes) -> str:
    """The signature header's value; ``payload`` is the raw body, or the validation token of a challenge."""
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()
