"""Listing a ``contentContainerUrl`` with the Blob REST protocol (List Blobs), as the service does.

``GET {container}?{sas}&restype=container&comp=list[&marker=...]`` answers XML ``EnumerationResults``
with ``Blobs/Blob/Name`` and a ``NextMarker`` (empty on the last page); verified against Azurite 3.37.0
(addendum §2). No ``x-ms-version`` header is sent: Azurite refuses versions newer than its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Final
from urllib.parse import urlencode

import aiohttp

__all__ = ("MAX_BLOBS", "list_container")

# The spec: a container of at most 10,000 blobs.
MAX_BLOBS: Final = 10_000
# A listing page is small XML; anything far larger is not a listing.
_MAX_PAGE_BYTES: Final = 8 * 1024 * 1024


async def list_container(session: aiohttp.ClientSession, container_url: str) -> list[str]:
    """The blob names of the container, in listing order; ``ValueError`` when it cannot be listed."""
    base, _, query = container_url.partition("?")
    names: list[str] = []
    marker = ""
    while True:
        params = {"restype": "container", "comp": "list"}
        if marker:
            params["marker"] = marker
        url = f"{base.rstrip('/')}?" + "&".join(part for part in (query, urlencode(params)) if part)
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    raise ValueError(f"listing the container answered HTTP {response.status}")
                body = await response.content.read(_MAX_PAGE_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ValueError(f"the container cannot be listed: {exc}") from None
        if len(body) > _MAX_PAGE_BYTES:
            raise ValueError("the container listing is too large")
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise ValueError("the container listing is not XML") from None
        for blob in root.iterfind("./Blobs/Blob"):
            name = blob.findtext("Name")
            if name:
                names.append(name)
        if len(names) > MAX_BLOBS:
            raise ValueError(f"the container holds more than {MAX_BLOBS} blobs")
        marker = root.findtext("NextMarker") or ""
        if not marker:
            return names
