"""Webhook deliveries: the queue of messages to send, and their log.

Deliveries are rows, written by the fan-out (schema/webhooks.py). Senders claim due rows for
a lease, so a sender that dies mid-attempt leaves its rows to be sent again: at least once,
always the same message id and the same body bytes. Nothing here speaks HTTP (api/webhooks
does).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from schema.db import is_sqlite, open_session
from schema.tables import DeliveryStatus, Webhook, WebhookDelivery, core_table, utcnow

# Standard Webhooks' schedule: the delay before each attempt (the first at once), about
# 27.5 hours in all; after the last one fails, the delivery has failed.
SCHEDULE_S: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ERROR = 500
MAX_LIST = 1000

# Updated and deleted with Core statements (by id, many at once), skipping the ORM.
_DELIVERY = core_table(WebhookDelivery)


class DeliveryProblem(ValueError):
    """Input that cannot find, list or replay a delivery; the message names what is wrong."""


def retry_delay(attempts: int, scale: float = 1.0) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones (None: give up)."""
    if attempts >= len(SCHEDULE_S):
        return None
    return SCHEDULE_S[attempts] * scale


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


async def list_deliveries(
    session: AsyncSession,
    *,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 20,
) -> list[WebhookDelivery]:
    """The newest deliveries first (the delivery log)."""
    if not 1 <= limit <= MAX_LIST:
        raise DeliveryProblem(f"--limit: between 1 and {MAX_LIST}")
    statement = select(WebhookDelivery).order_by(col(WebhookDelivery.id).desc()).limit(limit)
    if webhook_id is not None:
        statement = statement.where(col(WebhookDelivery.webhook_id) == webhook_id)
    if status is not None:
        statement = statement.where(col(WebhookDelivery.status) == status.value)
    return list((await session.execute(statement)).scalars())


async def replay_delivery(
    session: AsyncSession, delivery_id: int, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again, now: the same message (id and body), one more attempt (if it
    fails, it is retried only while the schedule has attempts left). Refused while an
    attempt is under way (it would be sent twice at once)."""
    now = now or utcnow()
    # Locked: a sender claiming it meanwhile waits, or has claimed it and we see its lease.
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise DeliveryProblem(f"no delivery has id {delivery_id}")
    leased = delivery.leased_until
    if delivery.status == DeliveryStatus.PENDING and leased is not None and leased > now:
        raise DeliveryProblem(
            f"delivery {delivery_id} is being sent now (an attempt is under way until "
            f"{leased:%Y-%m-%d %H:%M:%S} UTC at the latest): replay it once that attempt "
            "is logged, if it still needs to be"
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    await session.flush()
    return delivery


@asynccontextmanager
async def short_write(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A short writing transaction that never waits for content writers on PostgreSQL
    (row locks are enough there); SQLite has one writer at a time, so it takes that lock."""
    async with open_session(engine, write=is_sqlite(engine)) as session:
        yield session


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with what sending it needs."""

    id: int
    message_id: str
    body: str
    attempt: int  # this attempt's number, from 1
    url: str
    secret: str


def _claimable(now: dt.datetime, per_webhook: int) -> Select[int]:
    """The ids of due deliveries, taking at most `per_webhook` attempts under way to each
    webhook (counting those in flight, anywhere), fairly: each webhook's first due one,
    then each one's second, and so on, the longest due first among equals. A hung
    endpoint holds a few sending slots, never all of them."""
    pending = col(WebhookDelivery.status) == DeliveryStatus.PENDING.value
    in_flight = (
        select(col(WebhookDelivery.webhook_id), func.count().label("n"))
        .where(pending, col(WebhookDelivery.leased_until) > now)
        .group_by(col(WebhookDelivery.webhook_id))
        .subquery()
    )
    turn = func.row_number().over(
        partition_by=col(WebhookDelivery.webhook_id),
        order_by=(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id)),
    )
    due = (
        select(
            col(WebhookDelivery.id),
            col(WebhookDelivery.next_attempt_at),
            (turn + func.coalesce(in_flight.c.n, 0)).label("load"),
        )
        .outerjoin(in_flight, in_flight.c.webhook_id == col(WebhookDelivery.webhook_id))
        .where(pending, col(WebhookDelivery.next_attempt_at) <= now)
        .subquery()
    )
    return (
        select(due.c.id)
        .where(due.c.load <= per_webhook)
        .order_by(due.c.load, due.c.next_attempt_at, due.c.id)
    )


async def claim(
    engine: AsyncEngine,
    *,
    limit: int,
    lease_s: float,
    per_webhook: int = 2,
    now: dt.datetime | None = None,
) -> list[Claim]:
    """Up to `limit` due deliveries, each held for `lease_s` (then due again, should this
    sender die before it says how the attempt went), at most `per_webhook` under way to one
    webhook. Safe across processes: PostgreSQL skips rows another claimer holds (and any it
    has just claimed); SQLite claims in one writer's transaction."""
    now = now or utcnow()
    claimable = _claimable(now, per_webhook)
    async with engine.connect() as connection:  # an idle poll writes nothing
        if not (await connection.execute(claimable.limit(1))).first():
            return []
    async with short_write(engine) as session:
        # Locked, and checked again on the row as it is then: one another sender has just
        # claimed is due no longer.
        ids = list(
            (
                await session.execute(
                    select(col(WebhookDelivery.id))
                    .where(
                        col(WebhookDelivery.id).in_(claimable.limit(limit).scalar_subquery()),
                        col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
                        col(WebhookDelivery.next_attempt_at) <= now,
                    )
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if not ids:
            return []
        until = now + dt.timedelta(seconds=lease_s)
        await session.execute(
            update(_DELIVERY)
            .where(col(WebhookDelivery.id).in_(ids))
            .values(
                attempts=col(WebhookDelivery.attempts) + 1,
                last_attempt_at=now,
                next_attempt_at=until,
                leased_until=until,
            )
        )
        # Cast: an id read from the table is never None (SQLModel types it for new rows).
        claimed = cast(
            Select[int, str, str, int, str, str],
            select(
                col(WebhookDelivery.id),
                col(WebhookDelivery.message_id),
                col(WebhookDelivery.body),
                col(WebhookDelivery.attempts),
                col(Webhook.url),
                col(Webhook.secret),
            )
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(col(WebhookDelivery.id).in_(ids))
            .order_by(col(WebhookDelivery.id)),
        )
        return [Claim(*row) for row in await session.execute(claimed)]


async def finish(
    engine: AsyncEngine,
    attempt: Claim,
    *,
    delivered: bool,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    now: dt.datetime | None = None,
) -> None:
    """Log how an attempt went: delivered, due again in `retry_in` seconds, or (None)
    failed for good. Ignored if the delivery was claimed again meanwhile."""
    now = now or utcnow()
    values: dict[str, object] = {
        "leased_until": None,
        "last_status_code": status_code,
        "last_error": error[:MAX_ERROR] if error else None,
    }
    if delivered:
        values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
        values["next_attempt_at"] = None
    elif retry_in is None:
        values |= {"status": DeliveryStatus.FAILED.value, "next_attempt_at": None}
    else:
        values["next_attempt_at"] = now + dt.timedelta(seconds=retry_in)
    async with short_write(engine) as session:
        await session.execute(
            update(_DELIVERY)
            .where(
                col(WebhookDelivery.id) == attempt.id,
                col(WebhookDelivery.attempts) == attempt.attempt,
            )
            .values(**values)
        )


async def prune(engine: AsyncEngine, *, before: dt.datetime) -> int:
    """Drop the log of deliveries made before `before` that are done (delivered or failed);
    how many went. Pending ones stay, however old."""
    done = [DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]
    old = (
        col(WebhookDelivery.status).in_(done),
        col(WebhookDelivery.created_at) < before,
    )
    async with engine.connect() as connection:  # nothing to drop: nothing written
        if not (
            await connection.execute(select(col(WebhookDelivery.id)).where(*old).limit(1))
        ).first():
            return 0
    async with short_write(engine) as session:
        # A DELETE's result is a CursorResult (with its rowcount); execute() is typed for rows.
        result = cast(CursorResult[Any], await session.execute(delete(_DELIVERY).where(*old)))
        return int(result.rowcount or 0)
