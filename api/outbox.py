"""Each worker follows the change outbox (schema/changes.py) and drops the cached answers
whose tags changed: within one poll interval of the commit, whichever process wrote.

The follower has a connection of its own (a busy request pool never delays it), each poll
has a deadline, and the cache answers only while the last good poll is recent
(`ResponseCache.fresh_until`): a worker that cannot read the outbox serves and stores
nothing from its cache until it can again, since it could not know what changed meanwhile.
Listeners (CDN purges) hear of changes in tasks of their own, so a slow one never holds
invalidation up, and hear of every change applied, even by a poll cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from api.response_cache import ResponseCache
from schema.changes import changes_after, last_change

log = logging.getLogger("healthcontent.outbox")

BATCH = 1000  # changes read at a time
POLL_TIMEOUT_S = 1.0
# How long past one poll interval after the start of the last good poll the cache may still
# answer: at the default 200 ms interval, one second in all (the freshness promise).
SLACK_S = 0.8


class OutboxFollower:
    """Polls the outbox every `interval_s`; tells the cache, and `listeners`, what changed."""

    def __init__(
        self,
        engine: AsyncEngine,
        cache: ResponseCache | None,
        *,
        interval_s: float,
        listeners: tuple[Callable[[set[str]], Awaitable[None]], ...] = (),
    ) -> None:
        self.engine, self.cache, self.interval_s = engine, cache, interval_s
        self.trusted_for_s = interval_s + max(SLACK_S, interval_s)
        self.listeners = listeners
        self.position: int | None = None  # the last change applied
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.told: set[asyncio.Task[None]] = set()  # listeners still at work
        self.failing = False

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="outbox follower")

    async def stop(self) -> None:
        for task in [self.task, *self.told]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def poll(self) -> None:
        """Apply every change committed so far (callers may await it: a mutation does, so
        its own worker answers with what it wrote at once)."""
        async with self.lock:
            started = time.monotonic()
            changed: set[str] = set()
            try:
                async with asyncio.timeout(POLL_TIMEOUT_S), self.engine.connect() as connection:
                    if self.position is None:
                        self.position = await last_change(connection)
                    while True:
                        entries = await changes_after(connection, self.position, BATCH)
                        if not entries:
                            break
                        tags = {tag for entry in entries for tag in entry.tags}
                        if self.cache is not None:
                            self.cache.invalidate(tags)
                        changed |= tags
                        self.position = entries[-1].id
                        if len(entries) < BATCH:
                            break
            except Exception as exc:
                if not self.failing:
                    log.warning("cannot read the change outbox (%r): cache off until it can", exc)
                self.failing = True
                if self.cache is not None:
                    self.cache.clear()
                return
            finally:
                # Whatever was applied is told, even when the poll was cut short (cancelled
                # with its request): the next poll starts past it.
                self._tell(changed)
            if self.failing:
                log.warning("the change outbox is readable again: cache on")
                self.failing = False
            if self.cache is not None:
                self.cache.fresh_until = started + self.trusted_for_s

    def _tell(self, tags: set[str]) -> None:
        if not tags:
            return
        for listener in self.listeners:
            task = asyncio.create_task(self._listen(listener, tags))
            self.told.add(task)
            task.add_done_callback(self.told.discard)

    @staticmethod
    async def _listen(listener: Callable[[set[str]], Awaitable[None]], tags: set[str]) -> None:
        try:
            await listener(tags)
        except Exception:
            log.exception("a change listener failed")

    async def _run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.interval_s)
