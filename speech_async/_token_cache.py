"""The token cache: one token shared by every caller, refreshed ahead of time, one exchange at a time.

A token has three moments: when it was fetched, when a refresh should start (``refresh_at``: nine
minutes for issueToken tokens), and when it stops being valid (``expires_at``). Between ``refresh_at``
and ``expires_at`` the first caller starts a refresh in the background and every caller goes on with
the current token: nobody waits. Only when no valid token is left do callers wait, and then on a single
exchange, however many they are. A failed refresh is tried again after a short, growing delay (not
after nine minutes); callers keep the old token while it lasts, and get a :class:`CredentialError` once
none is valid.

Clients that share a credential share its cache, but each exchange runs on the connections of the
client whose caller started it. When that client closes meanwhile (its exchange then fails with
:class:`ClientClosedError`, or its authenticator has detached its ``fetch``), the failure is nobody's
fault: it is not counted and locks nobody out. The first caller still waiting that belongs to another,
open client starts the exchange again with its own ``fetch``, and every other waiter waits on that one:
still one exchange at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from ._exceptions import ClientClosedError, CredentialError

__all__ = ["Token", "TokenCache", "TokenStats", "shared_cache"]

logger: Final = logging.getLogger("speech_async")

EXPIRY_MARGIN: Final = 30.0
"""Seconds before its expiry that a token is no longer handed out (a request takes time to arrive)."""
_FIRST_RETRY: Final = 1.0
_MAX_RETRY: Final = 30.0


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and its timetable, in the cache's clock."""

    value: str
    fetched_at: float
    refresh_at: float
    expires_at: float

    def __repr__(self) -> str:
        return f"Token(<redacted>, refresh_at={self.refresh_at}, expires_at={self.expires_at})"


@dataclass(frozen=True, slots=True)
class TokenStats:
    """What a token cache has done, for monitoring and tests."""

    exchanges: int
    """Token requests made (issueToken calls, ``get_token`` calls)."""
    failures: int
    """Token requests that failed."""
    waits: int
    """Callers that had to wait for a token because none was valid."""
    refreshing: bool
    """Whether an exchange is under way right now."""


Fetch = Callable[[], Awaitable[Token]]


class TokenCache:
    """Holds one token for one credential and issuer; see the module docstring for the rules."""

    def __init__(self, *, clock: Callable[[], float] = time.time, name: str = "token") -> None:
        self._clock = clock
        self._name = name
        self._token: Token | None = None
        self._inflight: asyncio.Task[Token] | None = None
        self._inflight_fetch: Fetch | None = None
        # The fetch of every authenticator whose client has closed: an exchange running with one is orphaned.
        self._detached: weakref.WeakSet[Fetch] = weakref.WeakSet()
        self._retry_at = 0.0
        self._consecutive_failures = 0
        self._last_error: BaseException | None = None
        self._exchanges = 0
        self._failures = 0
        self._waits = 0

    @property
    def stats(self) -> TokenStats:
        """Counters of exchanges, failures and waits so far."""
        return TokenStats(
            exchanges=self._exchanges,
            failures=self._failures,
            waits=self._waits,
            refreshing=self._inflight is not None,
        )

    def detach(self, fetch: Fetch) -> None:
        """The user of ``fetch`` is closing: an exchange running with it is orphaned from now on.

        Its failure then counts for nothing, and a caller of another client waiting for it starts the
        exchange again with its own ``fetch`` (see :meth:`get`).
        """
        self._detached.add(fetch)

    async def get(self, fetch: Fetch) -> str:
        """A valid token: the cached one, or a fresh one fetched with ``fetch`` (once, for all callers)."""
        now = self._clock()
        token = self._token
        if token is not None and now < token.expires_at - EXPIRY_MARGIN:
            if now >= token.refresh_at and self._inflight is None and now >= self._retry_at:
                self._start(fetch)
            return token.value
        if self._inflight is None:
            if self._last_error is not None and now < self._retry_at:
                raise CredentialError(
                    f"no valid {self._name}: the last attempt to get one failed ({_describe(self._last_error)}); "
                    f"the next attempt is in {self._retry_at - now:.1f} s"
                ) from self._last_error
            self._start(fetch)
        self._waits += 1
        while True:
            task, task_fetch = self._inflight, self._inflight_fetch
            assert task is not None
            try:
                # Shielded: a caller that gives up must not cancel the exchange the others are waiting on.
                return (await asyncio.shield(task)).value
            except CredentialError:
                raise
            except asyncio.CancelledError:
                if task.cancelled() and not _being_cancelled():
                    # The exchange was cancelled by aclose(): the last client using the cache closed.
                    raise ClientClosedError(
                        f"the client was closed while it waited for a {self._name}", request_sent=False
                    ) from None
                raise
            except Exception as err:
                if not self._orphaned(err, task_fetch):
                    raise CredentialError(f"no valid {self._name}: getting one failed ({_describe(err)})") from err
                if task_fetch is fetch or fetch in self._detached:
                    raise ClientClosedError(
                        f"the client was closed while it was getting a {self._name}", request_sent=False
                    ) from err
                # The exchange ran on the connections of another client, closed since: this caller's
                # client is open, so get the token on its connections (unless another waiter did so first).
                token = self._token
                if token is not None and self._clock() < token.expires_at - EXPIRY_MARGIN:
                    return token.value
                if self._inflight is None:
                    logger.info(
                        "the client that was getting a %s was closed; another client sharing the credential "
                        "gets it instead",
                        self._name,
                    )
                    self._start(fetch)

    def invalidate(self, value: str) -> bool:
        """Drop the token ``value`` (the service refused it); returns whether it was the cached one."""
        token = self._token
        if token is None or token.value != value:
            return False
        self._token = None
        self._retry_at = 0.0
        logger.info("the service refused the %s; a new one will be fetched", self._name)
        return True

    async def aclose(self) -> None:
        """Cancel a refresh in flight."""
        task, self._inflight, self._inflight_fetch = self._inflight, None, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _start(self, fetch: Fetch) -> None:
        self._exchanges += 1
        task = asyncio.get_running_loop().create_task(self._refresh(fetch), name=f"speech_async {self._name} refresh")
        self._inflight = task
        self._inflight_fetch = fetch
        task.add_done_callback(_retrieve)

    def _orphaned(self, err: BaseException, fetch: Fetch | None) -> bool:
        # Whether an exchange failed because the client it ran on was closed, not for a credential's reason.
        return _client_closed(err) or (fetch is not None and fetch in self._detached)

    async def _refresh(self, fetch: Fetch) -> Token:
        try:
            token = await fetch()
        except Exception as err:
            if self._orphaned(err, fetch):
                # Not the credential's failure: no count, no back-off; a waiter of an open client starts
                # the exchange again (see get()), or the next caller does.
                logger.debug("getting a %s stopped: the client it ran on was closed (%s)", self._name, _describe(err))
                raise
            self._failures += 1
            self._consecutive_failures += 1
            self._last_error = err
            delay = min(_FIRST_RETRY * 2 ** (self._consecutive_failures - 1), _MAX_RETRY)
            self._retry_at = self._clock() + delay
            still_valid = self._token is not None and self._clock() < self._token.expires_at - EXPIRY_MARGIN
            logger.info(
                "getting a %s failed (%s); %s; next attempt in %.1f s",
                self._name,
                _describe(err),
                "the current one stays in use" if still_valid else "no valid one is left",
                delay,
            )
            raise
        else:
            self._token = token
            self._consecutive_failures = 0
            self._last_error = None
            self._retry_at = 0.0
            logger.debug("got a new %s, valid for %.0f s", self._name, token.expires_at - token.fetched_at)
            return token
        finally:
            if self._inflight is asyncio.current_task():  # not one started after aclose() dropped this one
                self._inflight = None
                self._inflight_fetch = None


def _being_cancelled() -> bool:
    # Whether the current task itself is being cancelled (Python 3.11+ can tell; before, a cancelled
    # exchange under a shield means the cache was closed, as the caller's own cancellation leaves it running).
    cancelling: Callable[[], int] | None = getattr(asyncio.current_task(), "cancelling", None)
    return cancelling is not None and cancelling() > 0


def _client_closed(err: BaseException) -> bool:
    # ClientClosedError itself, or anywhere down its chain of causes.
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientClosedError):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


def _retrieve(task: asyncio.Task[Token]) -> None:
    # A background refresh nobody awaited may fail; its error is logged by _refresh and kept for callers.
    if not task.cancelled():
        task.exception()


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


@dataclass
class _Shared:
    cache: TokenCache
    users: int


_REGISTRY: weakref.WeakKeyDictionary[object, dict[str, _Shared]] = weakref.WeakKeyDictionary()


def shared_cache(credential: object, issuer: str, *, clock: Callable[[], float], name: str) -> TokenCache:
    """The cache for ``(credential, issuer)``, shared by every client that uses the same credential object.

    Each call adds a user; :func:`release` removes one and closes the cache with the last.
    """
    try:
        per_issuer = _REGISTRY.setdefault(credential, {})
    except TypeError:  # an object that cannot be weakly referenced gets a cache of its own
        return TokenCache(clock=clock, name=name)
    shared = per_issuer.get(issuer)
    if shared is None:
        shared = per_issuer[issuer] = _Shared(TokenCache(clock=clock, name=name), 0)
    shared.users += 1
    return shared.cache


async def release(credential: object, issuer: str, cache: TokenCache) -> bool:
    """Give back a cache from :func:`shared_cache`; returns whether that was its last user."""
    per_issuer = _REGISTRY.get(credential)
    shared = per_issuer.get(issuer) if per_issuer is not None else None
    if shared is None or shared.cache is not cache:
        await cache.aclose()
        return True
    shared.users -= 1
    if shared.users > 0:
        return False
    del per_issuer[issuer]  # type: ignore[index]
    await cache.aclose()
    return True
