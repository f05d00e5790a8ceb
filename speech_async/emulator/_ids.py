"""Identifier formats the areas check (GUIDs today; batch and custom-speech ids next)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ("GUID",)

# Any case: the service's own examples show both lower- and upper-case GUIDs.
GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
