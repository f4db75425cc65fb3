"""The response cache's second level, in Redis (`REDIS_URL`): what one worker computed,
every worker can answer with.

An entry carries the outbox position its worker had applied when it began the answer. A
worker takes an entry from Redis only if that position is at least its own: otherwise the
entry may predate a change this worker has already applied (and would never drop again).
Every worker's outbox follower drops the changed tags' entries in Redis too, so an entry
stored late by a slow worker goes as soon as that worker learns of the change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import orjson

from api.response_cache import Entry

log = logging.getLogger("healthcontent.cache")
RETRY_REDIS_S = 5.0

# Drop every entry under each tag, and the tag's set (atomic per tag: an entry added under
# a tag is either dropped with it or added after, to a fresh set).
_DROP = """
for i = 1, #KEYS do
  local keys = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #keys do redis.call('DEL', keys[j]) end
  redis.call('DEL', KEYS[i])
end
return 0
"""


class SharedCache:
    def __init__(self, url: str, prefix: str, ttl_s: int) -> None:
        import redis.asyncio as redis

        self.ttl_s = ttl_s  # tag sets live as long as the longest entry may
        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.drop_script = self.client.register_script(_DROP)
        self.prefix = f"{prefix}:rc:"
        self.retry_at: float | None = None

    def _entry_key(self, key: str) -> str:
        return f"{self.prefix}e:{key}"

    def _tag_key(self, tag: str) -> str:
        return f"{self.prefix}t:{tag}"

    async def get(self, key: str) -> tuple[Entry, int] | None:
        """The entry and the outbox position it was computed at."""
        if not self._usable():
            return None
        try:
            raw = await self.client.get(self._entry_key(key))
        except Exception as exc:
            self._failed(exc)
            return None
        if raw is None:
            return None
        head, _, content = raw.partition(b"\n")
        etag, tags, expires, position = orjson.loads(head)
        return Entry(content, etag, frozenset(tags), float(expires)), int(position)

    async def put(self, key: str, entry: Entry, position: int) -> None:
        ttl = int(entry.expires - time.time())
        if ttl <= 0 or not self._usable():
            return
        head = orjson.dumps([entry.etag, sorted(entry.tags), entry.expires, position])
        name = self._entry_key(key)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, head + b"\n" + entry.content, ex=ttl)
                for tag in entry.tags:
                    pipe.sadd(self._tag_key(tag), name)
                    pipe.expire(self._tag_key(tag), self.ttl_s)
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every entry under `tags` (the outbox follower calls this)."""
        keys = [self._tag_key(tag) for tag in tags]
        if not keys:
            return
        try:
            await self.drop_script(keys=keys)
        except Exception as exc:
            # Retried by nobody: say so loudly; entries under these tags live out their TTL
            # at most, and no worker that has applied the change takes them (positions).
            log.error("could not drop %d tags from the Redis response cache: %r", len(keys), exc)
            self._failed(exc)

    async def close(self) -> None:
        await self.client.aclose()

    def _usable(self) -> bool:
        if self.retry_at is None:
            return True
        if time.monotonic() < self.retry_at:
            return False
        self.retry_at = None
        return True

    def _failed(self, exc: Exception) -> None:
        if self.retry_at is None:
            log.warning("Redis response cache failed (%r); this worker's own cache only", exc)
        self.retry_at = time.monotonic() + RETRY_REDIS_S
