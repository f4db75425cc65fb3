"""The response cache's second level, in Redis (`REDIS_URL`): what one worker computed,
every worker can answer with.

An entry carries the outbox position its worker had applied when it began the answer, and
a worker takes an entry from Redis only if that position is at least its own. An entry
that may predate a change this worker has applied is never taken; one that predates a
change this worker has not applied yet is dropped with its other entries when it does. So
Redis needs no invalidation of its own: entries just expire (the general TTL at most), and
a worker that finds one too old computes the answer again and replaces it.

Keys carry a fingerprint of what shapes an answer (the code, the schema, the settings that
appear in answers, the database): workers of another version, configuration or database
never share.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import orjson

from api.redis_backoff import RedisBackoff
from api.response_cache import Entry, surrogate_headers

log = logging.getLogger("healthcontent.cache")
FORMAT = 1  # of the stored value


def code_version() -> str:
    """A digest of the service's own code (api/ and schema/): a worker of another version
    never takes this one's answers."""
    digest = hashlib.blake2b(digest_size=8)
    root = Path(__file__).resolve().parent.parent
    for package in ("api", "schema"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(*parts: str) -> str:
    return hashlib.blake2b("\0".join((str(FORMAT), *parts)).encode(), digest_size=8).hexdigest()


class SharedCache:
    def __init__(self, url: str, prefix: str, fingerprint: str) -> None:
        import redis.asyncio as redis

        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = f"{prefix}:rc:{fingerprint}:"
        self.backoff = RedisBackoff("response cache", log)

    async def get(self, key: str) -> tuple[Entry, int] | None:
        """The entry and the outbox position it was computed at."""
        if not self.backoff.usable():
            return None
        try:
            raw = await self.client.get(self.prefix + key)
        except Exception as exc:
            self.backoff.failed(exc)
            return None
        if raw is None:
            return None
        try:
            head, _, content = raw.partition(b"\n")
            etag, tags, expires, position = orjson.loads(head)
            tags = frozenset(tags)
            entry = Entry(content, str(etag), tags, float(expires), surrogate_headers(tags))
            return entry, int(position)
        except (ValueError, TypeError):
            return None  # not a value this version wrote: a miss

    async def put(self, key: str, entry: Entry, position: int) -> None:
        ttl = int(entry.expires - time.time())
        if ttl <= 0 or not self.backoff.usable():
            return
        head = orjson.dumps([entry.etag, sorted(entry.tags), entry.expires, position])
        try:
            await self.client.set(self.prefix + key, head + b"\n" + entry.content, ex=ttl)
        except Exception as exc:
            self.backoff.failed(exc)

    async def close(self) -> None:
        await self.client.aclose()
