"""Bodies the real service answers with, and a reader of JSON key order, for fidelity tests."""

from __future__ import annotations

import json
from typing import Any

MISSING_KEY_BODY = {
    "error": {
        "code": "401",
        "message": "Access denied due to missing subscription key. Make sure to include subscription key when "
        "making requests to an API.",
    }
}
INVALID_KEY_BODY = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}


def key_orders(body: bytes | str) -> list[list[str]]:
    """The key list of every JSON object in ``body``, in document order (innermost objects first)."""
    orders: list[list[str]] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        orders.append([name for name, _ in pairs])
        return dict(pairs)

    json.loads(body, object_pairs_hook=hook)
    return orders
