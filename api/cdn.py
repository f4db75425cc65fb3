"""Purging a CDN by tag: what the outbox follower learns changed, sent to `CDN_PURGE_URL`.

Each purge is a POST of `{"tags": [...]}` (Cloudflare's purge-by-tag body) that also
carries the tags space-separated in a `Surrogate-Key` header (Fastly's batch purge), plus
`CDN_PURGE_HEADERS` (the API token). At most 30 tags a request, the smallest of the two
CDNs' limits. Purges run in the background, so a slow CDN never holds the cache up; a
failed one is retried with backoff (connection errors, 429 and 5xx), then logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping

import orjson

log = logging.getLogger("healthcontent.cdn")

TAGS_PER_PURGE = 30
ATTEMPTS = 5
FIRST_BACKOFF_S = 0.5  # then doubled: 0.5, 1, 2, 4 s
TIMEOUT_S = 10.0


class PurgeFailed(Exception):
    """The CDN refused a purge for good (a 4xx other than 429), or never answered."""


class CdnPurger:
    """Sends purges one batch at a time, in its own task; tags that come in meanwhile are
    gathered into the next batch."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        first_backoff_s: float = FIRST_BACKOFF_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url, self.headers = url, dict(headers or {})
        self.first_backoff_s, self.sleep = first_backoff_s, sleep
        self.pending: set[str] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, tags: set[str]) -> None:
        """Queue `tags` for purging (the outbox follower calls this)."""
        self.pending |= tags
        self.wake.set()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="cdn purger")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            # Lists first: after a large load they are what most answers carry.
            tags = sorted(self.pending, key=lambda tag: (not tag.startswith("list:"), tag))
            self.pending = set()
            for start in range(0, len(tags), TAGS_PER_PURGE):
                batch = tags[start : start + TAGS_PER_PURGE]
                try:
                    await self.purge(batch)
                except Exception as exc:  # whatever it is, the next purges still go out
                    log.error("CDN purge of %d tags failed: %r", len(batch), exc)

    async def purge(self, tags: list[str]) -> None:
        """One purge, retried with backoff while the CDN fails in a way that may pass."""
        body = orjson.dumps({"tags": tags})
        headers = {
            "content-type": "application/json",
            "surrogate-key": " ".join(tags),
            **self.headers,
        }
        backoff = self.first_backoff_s
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status = await asyncio.to_thread(self._post, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{exc!r}"
            else:
                if status < 300:
                    return
                problem = f"HTTP {status}"
                if status < 500 and status != 429:
                    raise PurgeFailed(f"{self.url} answered {problem}")
            if attempt == ATTEMPTS:
                raise PurgeFailed(f"{self.url}: {problem}, {ATTEMPTS} times")
            log.warning("CDN purge: %s; retrying in %.1f s", problem, backoff)
            await self.sleep(backoff)
            backoff *= 2

    def _post(self, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
