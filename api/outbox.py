"""Each worker follows the change outbox (schema/changes.py) and drops the cached answers
whose tags changed: within one poll interval of the commit, whichever process wrote.

A worker that cannot read the outbox serves and stores nothing from its cache until it can
again: it could not know what changed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from api.response_cache import ResponseCache
from schema.changes import changes_after, last_change

log = logging.getLogger("healthcontent.outbox")

BATCH = 1000  # changes read a poll


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
        self.listeners = listeners
        self.position: int | None = None  # the last change applied
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.failing = False

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="outbox follower")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def poll(self) -> None:
        """Apply every change committed so far (callers may await it: a mutation does, so
        its own worker answers with what it wrote at once)."""
        async with self.lock:
            try:
                async with self.engine.connect() as connection:
                    if self.position is None:
                        self.position = await last_change(connection)
                    while True:
                        entries = await changes_after(connection, self.position, BATCH)
                        if not entries:
                            break
                        tags = {tag for entry in entries for tag in entry.tags}
                        if self.cache is not None:
                            self.cache.invalidate(tags)
                        self.position = entries[-1].id
                        for listener in self.listeners:
                            await listener(tags)
                        if len(entries) < BATCH:
                            break
            except Exception as exc:
                if not self.failing:
                    log.warning("cannot read the change outbox (%r): cache off until it can", exc)
                self.failing = True
                if self.cache is not None:
                    self.cache.blind = True
                    self.cache.clear()
                return
            if self.failing:
                log.warning("the change outbox is readable again: cache on")
                self.failing = False
            if self.cache is not None and self.cache.blind:
                self.cache.blind = False

    async def _run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.interval_s)
