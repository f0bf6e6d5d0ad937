"""The sign-in rate limit: an attempt takes a slot before its password is checked, per account
and (looser) per client address, in memory or in Redis so that every hub process shares it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from hub.config import Settings
from hub.domain.errors import DomainError, RateLimited

log = logging.getLogger(__name__)

KEY_PREFIX = "tcd-hub:login"
ADDRESS_FULL = "too many sign-in attempts from this address; wait a minute"


class LimiterUnavailable(DomainError):
    """The shared limiter's store does not answer: sign-in is refused rather than unlimited."""

    status = 503
    code = "unavailable"


class LoginRateLimiter:
    """At most `per_account` sign-in attempts a minute for one username and `per_address` from
    one client address (an office's PCs often share one), over a moving window.

    `reserve` takes a slot in both windows atomically before anything is verified, so
    simultaneous attempts cannot all pass a check made before any of them was counted; an
    attempt refused here costs no query and no hash. A successful sign-in clears its account's
    window (whoever knows the password gains nothing from more guesses) but not its address's.
    With `redis_url` the windows live in Redis (limits' Lua scripts keep each step atomic there)
    and every hub process sees the same counts; otherwise they live in this process's memory.
    """

    def __init__(self, per_account: int, per_address: int, redis_url: str = "") -> None:
        self.per_account: RateLimitItem = RateLimitItemPerMinute(per_account)
        self.per_address: RateLimitItem = RateLimitItemPerMinute(per_address)
        self._pool: ConnectionPool | None = None
        self.storage: Storage
        if redis_url:
            # Our own pool, so close() can release it; short timeouts so a Redis that hangs
            # fails a sign-in quickly instead of holding it.
            self._pool = ConnectionPool.from_url(
                redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
            )
            options: dict[str, Any] = {"connection_pool": self._pool}
            self.storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                **options,
            )
        else:
            self.storage = MemoryStorage()
        self._windows = MovingWindowRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginRateLimiter:
        """The limiter the settings ask for: Redis when redis_url is set, memory otherwise."""
        return cls(
            settings.login_attempts_per_minute,
            settings.login_attempts_per_minute_per_address,
            settings.redis_url,
        )

    async def reserve(self, username: str, address: str) -> None:
        """Count one attempt for the account and the address; RateLimited if either is full."""
        # A full address is refused before anything is counted, so spraying usernames from it
        # creates no windows. Then the account's slot: an attempt refused for its account takes
        # nothing from the address, so one account's storm does not lock the address's other
        # users out. Only the two hits are atomic; the first look just saves work.
        if not await self._call(self._windows.test(self.per_address, "ip", address)):
            raise RateLimited(ADDRESS_FULL)
        if not await self._call(self._windows.hit(self.per_account, "user", username)):
            raise RateLimited("too many sign-in attempts for this account; wait a minute")
        if not await self._call(self._windows.hit(self.per_address, "ip", address)):
            raise RateLimited(ADDRESS_FULL)

    async def succeeded(self, username: str) -> None:
        """The account signed in: its earlier failures no longer count against it."""
        try:
            await self._windows.clear(self.per_account, "user", username)
        except (StorageError, RedisError, OSError):
            # The sign-in itself is good; the window just runs out by itself.
            log.warning("could not clear the sign-in window of %s", username, exc_info=True)

    async def remaining(self, username: str) -> int:
        """Attempts the account has left in the current window."""
        stats = await self._windows.get_window_stats(self.per_account, "user", username)
        return stats.remaining

    async def _call(self, step: Awaitable[bool]) -> bool:
        try:
            return await step
        except (StorageError, RedisError, OSError) as exc:
            log.error("sign-in limiter store failed: %s", exc)
            raise LimiterUnavailable(
                "sign-in is unavailable: the rate limiter's store does not answer"
            ) from exc

    async def close(self) -> None:
        """Release the Redis connections (memory windows just go with the process)."""
        if self._pool is not None:
            await self._pool.aclose()
