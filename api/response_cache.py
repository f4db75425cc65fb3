"""The response cache: ready-to-send answers of queries whose callers see only published
content, dropped by tag when the outbox says what changed (api/outbox.py).

An entry is the body exactly as sent, its ETag, the tags of what it read and when it stops
being true (a general TTL, or sooner: the moment a review it shows falls due). A hit runs
no SQL and no GraphQL. Entries are bounded by bytes, least recently used dropped first.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_ALIAS_BYTES = 2048  # longer query strings are parsed every time
ENTRY_OVERHEAD = 300  # bytes an entry costs besides its body (key, tags, bookkeeping)
TAG_BYTES = 80


@dataclass(frozen=True)
class Entry:
    content: bytes  # the body as sent
    etag: str
    tags: frozenset[str]
    expires: float  # wall-clock seconds
    headers: dict[str, str] = field(default_factory=dict, compare=False)  # tag headers

    @property
    def size(self) -> int:
        return len(self.content) + ENTRY_OVERHEAD + TAG_BYTES * len(self.tags)


def cache_key(query: str, operation: str | None, variables: Any, media_type: str) -> str:
    """The same document, operation, variables (in any key order) and media type, for a
    caller who sees only published content: the same answer."""
    canonical = orjson.dumps(
        [query, operation, variables or {}, media_type], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.blake2b(canonical, digest_size=20).hexdigest()


# CDNs cap tag headers (Fastly: 16 KB; Cloudflare: 16 KB in all): past this, items' tags
# give way to their kinds' list tags, which every change of those kinds carries too.
MAX_TAG_HEADER = 8 * 1024


def surrogate_headers(tags: Iterable[str]) -> dict[str, str]:
    """`Surrogate-Key` (Fastly, space-separated) and `Cache-Tag` (Cloudflare, commas)."""
    ordered = sorted(tags)
    if sum(len(tag) + 1 for tag in ordered) > MAX_TAG_HEADER:
        ordered = sorted(
            {tag if tag.startswith("list:") else f"list:{tag.split(':')[0]}" for tag in ordered}
        )
    return {"surrogate-key": " ".join(ordered), "cache-tag": ",".join(ordered)}


def _alias_size(raw: tuple[bytes, str]) -> int:
    return len(raw[0]) + ENTRY_OVERHEAD


class ResponseCache:
    """Entries by key, and keys by tag."""

    def __init__(
        self, *, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_bytes, self.ttl_s, self.clock = max_bytes, ttl_s, clock
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.by_tag: dict[str, set[str]] = {}
        self.bytes = 0
        # Bumped whenever changes are applied: an answer computed across a change is not
        # stored (it may hold what the change replaced).
        self.generation = 0
        # Until when (time.monotonic) the outbox follower vouches for the entries: past it
        # (the outbox unread for too long) nothing is served or stored.
        self.fresh_until = 0.0
        # Raw anonymous GET requests (query string, media type) already answered -> their
        # entry's key: repeated, they are answered without being parsed.
        # They are bounded by bytes too (an eighth of the entries' budget), least recently
        # used out first; one whose entry is gone simply finds nothing.
        self.aliases: OrderedDict[tuple[bytes, str], str] = OrderedDict()
        self.alias_bytes = 0

    @property
    def blind(self) -> bool:
        return time.monotonic() > self.fresh_until

    def get(self, key: str) -> Entry | None:
        entry = None if self.blind else self.entries.get(key)
        if entry is None:
            return None
        if self.clock() >= entry.expires:
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def put(
        self,
        key: str,
        *,
        content: bytes,
        etag: str,
        tags: Iterable[str],
        generation: int,
        expires: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Entry | None:
        """Keep an answer computed since `generation`, unless a change came in meanwhile;
        the entry kept, if it was. `headers` are sent with it (default: its tag headers)."""
        if self.blind or generation != self.generation:
            return None
        deadline = self.clock() + self.ttl_s
        tags = frozenset(tags)
        entry = Entry(
            content,
            etag,
            tags,
            min(deadline, expires or deadline),
            surrogate_headers(tags) if headers is None else headers,
        )
        if entry.size > self.max_bytes // 8:
            return None  # one answer never pushes out most of the others
        if key in self.entries:
            self._drop(key)
        self.entries[key] = entry
        self.bytes += entry.size
        for tag in entry.tags:
            self.by_tag.setdefault(tag, set()).add(key)
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))
        return entry

    def alias(self, raw: tuple[bytes, str], key: str) -> None:
        if len(raw[0]) > MAX_ALIAS_BYTES:
            return
        if raw in self.aliases:
            self.aliases.move_to_end(raw)
            return
        self.aliases[raw] = key
        self.alias_bytes += _alias_size(raw)
        while self.alias_bytes > self.max_bytes // 8:
            dropped, _ = self.aliases.popitem(last=False)
            self.alias_bytes -= _alias_size(dropped)

    def by_alias(self, raw: tuple[bytes, str]) -> Entry | None:
        key = self.aliases.get(raw)
        if key is None:
            return None
        self.aliases.move_to_end(raw)
        return self.get(key)

    def invalidate(self, tags: Iterable[str]) -> int:
        """Drop every entry tagged with any of `tags`; how many were dropped."""
        self.generation += 1
        dropped = 0
        for tag in tags:
            for key in list(self.by_tag.get(tag, ())):
                self._drop(key)
                dropped += 1
        return dropped

    def clear(self) -> None:
        self.generation += 1
        self.entries.clear()
        self.by_tag.clear()
        self.bytes = 0
        self.aliases.clear()
        self.alias_bytes = 0

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key)
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self.by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_tag[tag]
