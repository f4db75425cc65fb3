"""Leaving a failing Redis alone for a while: what uses Redis as a shared extra (persisted
queries, cached answers) falls back to the worker's own memory, and says so once."""

from __future__ import annotations

import logging
import time

RETRY_REDIS_S = 5.0


class RedisBackoff:
    """Whether to try Redis now; after a failure, not for RETRY_REDIS_S."""

    def __init__(self, what: str, log: logging.Logger) -> None:
        self.what, self.log = what, log
        self.retry_at: float | None = None

    def usable(self) -> bool:
        if self.retry_at is None:
            return True
        if time.monotonic() < self.retry_at:
            return False
        self.retry_at = None
        return True

    def failed(self, exc: Exception) -> None:
        if self.retry_at is None:
            self.log.warning("Redis %s failed (%r); this worker's own only", self.what, exc)
        self.retry_at = time.monotonic() + RETRY_REDIS_S
