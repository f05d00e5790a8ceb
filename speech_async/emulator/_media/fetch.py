"""Downloading ``definition.audioUrl`` into a spool, with the same size limit as uploads."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

import aiohttp

from .._errors import ServiceError, invalid_argument
from .multipart import too_large

if TYPE_CHECKING:
    from .spool import SpooledAudio, SpoolSet

__all__ = ("FETCH_TIMEOUT", "fetch_audio")

_CHUNK_BYTES: Final = 256 * 1024
FETCH_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)


def _download_failed(url: str, reason: str) -> ServiceError:
    # unverified: the status and codes when the service cannot download audioUrl.
    return invalid_argument(
        "InvalidParameterValue", f"The audio could not be downloaded from audioUrl '{url}': {reason}."
    )


async def fetch_audio(session: aiohttp.ClientSession, url: str, *, spools: SpoolSet, max_bytes: int) -> SpooledAudio:
    """GET ``url`` and stream the body into a new spool; anything but a 200 is an error."""
    spool = await spools.create()
    try:
        async with session.get(url, allow_redirects=True) as response:
            if response.status != 200:
                raise _download_failed(url, f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise too_large(max_bytes, close_connection=False)
            async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
                if spool.size + len(chunk) > max_bytes:
                    raise too_large(max_bytes, close_connection=False)
                await spool.write(chunk)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise _download_failed(url, str(exc) or type(exc).__name__) from None
    return await spool.finish()
