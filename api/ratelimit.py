"""Rate limits: fixed one-minute windows, counted in-process or in Redis (shared by workers).

Two limits per caller: requests (`hit`) and query cost (`spend`). Every answer carries
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds to the next window) and
`RateLimit-Policy`, and the same four as `RateLimit-Cost-*` for the cost budget; a refused
one is 429 with `Retry-After`. A cost that does not fit in what is left of the budget is
refused without being spent. Windows are aligned to the clock, so every worker and machine
agrees on when one ends. If Redis stops answering, counting falls back to in-process
(logged) rather than refusing every request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from api.access import Caller
    from api.settings import ApiSettings

log = logging.getLogger("healthcontent.ratelimit")

WINDOW_SECONDS = 60
RETRY_REDIS_SECONDS = 5  # after a failure, requests skip Redis this long (no timeout each)


@dataclass(frozen=True)
class Verdict:
    """How a request stands against its limit."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends
    prefix: str = "RateLimit-"  # "RateLimit-Cost-" for the cost budget

    def headers(self) -> dict[str, str]:
        headers = {
            f"{self.prefix}Limit": str(self.limit),
            f"{self.prefix}Remaining": str(self.remaining),
            f"{self.prefix}Reset": str(self.reset),
            f"{self.prefix}Policy": f"{self.limit};w={WINDOW_SECONDS}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def _window(now: float) -> tuple[int, int]:
    """(this window's number, whole seconds until it ends, at least 1)."""
    number = int(now // WINDOW_SECONDS)
    return number, max(1, math.ceil((number + 1) * WINDOW_SECONDS - now))


COST_PREFIX = "RateLimit-Cost-"


def _verdict(count: int, limit: int, reset: int) -> Verdict:
    return Verdict(count <= limit, limit, max(0, limit - count), reset)


def _spent(allowed: bool, used: int, budget: int, reset: int) -> Verdict:
    return Verdict(allowed, budget, max(0, budget - used), reset, COST_PREFIX)


class Limiter(Protocol):
    async def hit(self, bucket: str, limit: int) -> Verdict:
        """Count one request against `limit` requests a window."""
        ...

    async def spend(self, bucket: str, amount: int, budget: int) -> Verdict:
        """Spend `amount` of `budget` a window, unless that would go over it."""
        ...

    async def close(self) -> None: ...


class LocalLimiter:
    """Counts in this process: right for one worker, per worker for several."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.window = -1
        self.counts: dict[str, int] = {}

    async def hit(self, bucket: str, limit: int) -> Verdict:
        number, reset = _window(self.clock())
        if number != self.window:  # a new window: every count starts again (bounded memory)
            self.window, self.counts = number, {}
        count = self.counts[bucket] = self.counts.get(bucket, 0) + 1
        return _verdict(count, limit, reset)

    async def spend(self, bucket: str, amount: int, budget: int) -> Verdict:
        number, reset = _window(self.clock())
        if number != self.window:
            self.window, self.counts = number, {}
        key = f"{bucket}:cost"
        used = self.counts.get(key, 0)
        if used + amount > budget:
            return _spent(False, used, budget, reset)
        self.counts[key] = used + amount
        return _spent(True, used + amount, budget, reset)

    async def close(self) -> None:
        return None


# INCR and EXPIRE in one round-trip, atomically.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
# Spend ARGV[1] of a budget of ARGV[2] unless it would go over: {spent?, used}.
_SPEND = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if used + amount > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], amount)
if used == amount then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1, used}
"""


class RedisLimiter:
    """Counts in Redis, shared by every worker and machine using the same server."""

    def __init__(
        self,
        url: str,
        prefix: str = "healthcontent:ratelimit",
        clock: Callable[[], float] = time.time,
    ) -> None:
        import redis.asyncio as redis

        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_HIT)
        self.spend_script = self.client.register_script(_SPEND)
        self.prefix, self.clock = prefix, clock
        self.fallback = LocalLimiter(clock)
        self.retry_at: float | None = None  # while Redis is down: when to try it again

    async def hit(self, bucket: str, limit: int) -> Verdict:
        async def shared(key: str, reset: int) -> Verdict:
            count = int(await self.script(keys=[key], args=[WINDOW_SECONDS * 2]))
            return _verdict(count, limit, reset)

        return await self._counted(bucket, shared, lambda: self.fallback.hit(bucket, limit))

    async def spend(self, bucket: str, amount: int, budget: int) -> Verdict:
        async def shared(key: str, reset: int) -> Verdict:
            spent, used = await self.spend_script(
                keys=[f"{key}:cost"], args=[amount, budget, WINDOW_SECONDS * 2]
            )
            return _spent(bool(spent), int(used), budget, reset)

        return await self._counted(
            bucket, shared, lambda: self.fallback.spend(bucket, amount, budget)
        )

    async def _counted(
        self,
        bucket: str,
        shared: Callable[[str, int], Awaitable[Verdict]],
        local: Callable[[], Awaitable[Verdict]],
    ) -> Verdict:
        """`shared` in Redis; `local` (in-process) while Redis fails."""
        now = self.clock()
        if self.retry_at is not None and now < self.retry_at:
            return await local()
        number, reset = _window(now)
        try:
            verdict = await shared(f"{self.prefix}:{bucket}:{number}", reset)
        except Exception as exc:  # any Redis failure: count here instead, say so once
            if self.retry_at is None:
                log.warning("Redis rate limiting failed (%s); counting in-process", exc)
            self.retry_at = now + RETRY_REDIS_SECONDS
            return await local()
        if self.retry_at is not None:
            log.warning("Redis rate limiting works again")
            self.retry_at = None
        return verdict

    async def close(self) -> None:
        await self.client.aclose()


def create_limiter(redis_url: str | None, prefix: str = "healthcontent") -> Limiter:
    return RedisLimiter(redis_url, prefix=f"{prefix}:ratelimit") if redis_url else LocalLimiter()


def bucket(caller: Caller) -> str:
    """Whose limit a request counts against: its key's, else its address's."""
    return f"key:{caller.key.id}" if caller.key is not None else f"address:{caller.address}"


async def check_rate(caller: Caller, limiter: Limiter, settings: ApiSettings) -> Verdict | None:
    """Count one request against the caller's limit (None: no limit applies)."""
    if caller.key is not None:
        limit = caller.key.rate_per_minute or settings.rate_limit_key
    else:
        limit = settings.rate_limit_anonymous
    if limit <= 0:
        return None
    return await limiter.hit(bucket(caller), limit)
