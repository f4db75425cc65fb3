"""The deliverer: each server worker turns new outbox changes into deliveries and sends the
due ones, signed, retrying on Standard Webhooks' schedule (schema/webhooks.py fans changes
out, schema/deliveries.py keeps the deliveries).

It runs in every worker's lifespan with a connection pool of its own. Claims are leases, so
several workers (and machines) share the work without sending a row twice at once, and a
worker killed mid-attempt leaves its rows to be sent again once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time

import orjson
from graphql_relay import to_global_id
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import ApiSettings
from api.site_urls import page_url
from api.webhooks import signing
from api.webhooks.sender import BadResponse, Refused, longest_s, post
from schema.deliveries import Claim, claim, finish, prune, retry_delay
from schema.tables import Change, utcnow
from schema.webhooks import event_type, fan_out

log = logging.getLogger("healthcontent.webhooks")

STOP_GRACE_S = 2.0  # how long a stopping server waits for attempts under way
PRUNE_EVERY_S = 3600.0  # how often each worker drops the log past WEBHOOKS_LOG_DAYS


def timestamp(moment: dt.datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with a `Z`."""
    return moment.astimezone(dt.UTC).isoformat().removesuffix("+00:00") + "Z"


def change_url(change: Change, site_url: str) -> str:
    """Where the changed item is read: an article's canonical URL if it has its own, else
    its page here (as the GraphQL `url` fields say)."""
    return change.canonical_url or page_url(site_url, change.entity, change.slug)


def payload(change: Change, site_url: str) -> str:
    """A change as a webhook message: {type, timestamp, data {__typename, id, slug,
    version, url}}."""
    typename = str(change.entity)
    return orjson.dumps(
        {
            "type": event_type(change.entity, change.action),
            "timestamp": timestamp(change.changed_at),
            "data": {
                "__typename": typename,
                "id": to_global_id(typename, str(change.entity_id)),
                "slug": change.slug,
                "version": change.version,
                "url": change_url(change, site_url),
            },
        }
    ).decode()


class Deliverer:
    """Polls every `poll_s`: fans out new changes, claims what is due (never more than it
    has room to send, nor more than `max_in_flight` to one webhook, and fewer than
    `concurrency`) and sends each in a task of its own, at most `concurrency` at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        site_url: str,
        poll_s: float,
        timeout_s: float,
        concurrency: int,
        retry_scale: float,
        allow_private: bool,
        max_in_flight: int = 2,
        log_days: int = 30,
    ) -> None:
        self.engine, self.site_url = engine, site_url
        self.poll_s, self.timeout_s, self.concurrency = poll_s, timeout_s, concurrency
        self.retry_scale, self.allow_private = retry_scale, allow_private
        # Attempts at once to one webhook: fewer than this worker's slots, so others go on.
        self.per_webhook = max(1, min(max_in_flight, concurrency - 1))
        self.log_for = dt.timedelta(days=log_days)
        self.next_prune = 0.0  # monotonic
        # Long enough for the longest attempt (its timeout, then a bounded close) and for
        # logging how it went, so it is never claimed again while under way.
        self.lease_s = longest_s(timeout_s) + timeout_s + 1
        self.sending: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.failing = False

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: ApiSettings) -> Deliverer:
        return cls(
            engine,
            site_url=settings.site_url,
            poll_s=settings.webhooks_poll_ms / 1000,
            timeout_s=settings.webhooks_timeout_ms / 1000,
            concurrency=settings.webhooks_concurrency,
            max_in_flight=settings.webhooks_max_in_flight,
            retry_scale=settings.webhooks_retry_scale,
            allow_private=settings.webhooks_allow_private_urls,
            log_days=settings.webhooks_log_days,
        )

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="webhook deliverer")

    async def stop(self) -> None:
        """Stop claiming; give attempts under way a moment to finish and be logged, then
        cut the rest short (each is sent again when its lease runs out)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.sending:
            await asyncio.wait(set(self.sending), timeout=min(self.timeout_s, STOP_GRACE_S))
        for task in list(self.sending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def step(self) -> None:
        """One poll: fan out, then claim and start what there is room for."""
        while await fan_out(self.engine, payload=lambda c: payload(c, self.site_url)):
            pass
        if time.monotonic() >= self.next_prune:
            self.next_prune = time.monotonic() + PRUNE_EVERY_S
            await prune(self.engine, before=utcnow() - self.log_for)
        room = self.concurrency - len(self.sending)
        if room <= 0:
            return
        claimed = await claim(
            self.engine, limit=room, lease_s=self.lease_s, per_webhook=self.per_webhook
        )
        for attempt in claimed:
            task = asyncio.create_task(self._send(attempt))
            self.sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending.discard(task)
        self.wake.set()  # room for another

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception as exc:
                if not self.failing:
                    log.warning("webhooks: cannot read or claim deliveries (%r); retrying", exc)
                self.failing = True
            else:
                if self.failing:
                    log.warning("webhooks: deliveries are readable again")
                self.failing = False
            self.wake.clear()
            # asyncio.timeout, not wait_for: an idle worker runs no task but this one.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self.wake.wait()

    async def _send(self, attempt: Claim) -> None:
        body = attempt.body.encode()
        headers = signing.headers(attempt.secret, attempt.message_id, int(time.time()), body)
        status: int | None = None
        error: str | None = None
        try:
            status = await post(
                attempt.url,
                body,
                headers,
                timeout_s=self.timeout_s,
                allow_private=self.allow_private,
            )
        except TimeoutError:
            error = f"no answer within {self.timeout_s:g} s"
        except (Refused, BadResponse) as exc:
            error = str(exc)
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status is not None and 200 <= status < 300
        if not delivered and error is None:
            error = f"HTTP {status}"
        retry_in = None if delivered else retry_delay(attempt.attempt, self.retry_scale)
        if not delivered:
            later = "failed for good" if retry_in is None else f"again in {retry_in:g} s"
            log.info("webhook %s to %s: %s; %s", attempt.message_id, attempt.url, error, later)
        try:
            await finish(
                self.engine,
                attempt,
                delivered=delivered,
                status_code=status,
                error=None if delivered else error,
                retry_in=retry_in,
            )
        except Exception as exc:  # its lease runs out and it is sent again
            log.warning("webhooks: could not log attempt of %s (%r)", attempt.message_id, exc)
