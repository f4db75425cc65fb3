"""Webhooks: who hears of which public changes, and the deliveries that tell them.

Deliveries are rows. The fan-out turns outbox changes (schema/changes.py) into one delivery
per matching webhook, in the transaction that moves its cursor (`outbox_cursor`), so each
change is fanned out exactly once, whenever a server next runs. Senders claim due rows for
a lease, so a sender that dies mid-attempt leaves its rows to be sent again: at least once,
always the same message id and the same body bytes. Nothing here speaks HTTP (api/webhooks
does); the body is built by the caller's `payload` function.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from schema.db import is_sqlite, open_session
from schema.tables import (
    Change,
    ChangeAction,
    ChangeEntity,
    DeliveryStatus,
    OutboxCursor,
    Webhook,
    WebhookDelivery,
    utcnow,
)

CURSOR = "webhooks"  # the fan-out's row in outbox_cursor

# Every event a webhook may subscribe to: public changes only (a new article is a draft
# until it is published, so there is no article.created).
EVENTS: tuple[str, ...] = (
    "article.published",
    "article.updated",
    "article.unpublished",
    "article.archived",
    "article.deleted",
    "topic.created",
    "topic.updated",
    "expert.created",
    "expert.updated",
)
KINDS = ("article", "topic", "expert")
MAX_EVENTS_TEXT = 1000
MAX_DESCRIPTION = 200
MAX_LIST = 1000

# Standard Webhooks' schedule: the delay before each attempt (the first at once), about
# 27.5 hours in all; after the last one fails, the delivery has failed.
SCHEDULE_S: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ERROR = 500


class WebhookProblem(ValueError):
    """Input that cannot make or find a webhook; the message names what is wrong."""


def event_type(entity: ChangeEntity | str, action: ChangeAction | str) -> str:
    """The event name of a change: "article.published", "topic.updated"."""
    return f"{ChangeEntity(entity).value.lower()}.{ChangeAction(action).value}"


def parse_events(text: str) -> list[str]:
    """`article.published,article.updated`, `article.*` or `*`: the subscribed names or
    patterns, checked (unknown names are refused, naming them and what exists)."""
    if len(text) > MAX_EVENTS_TEXT:
        raise WebhookProblem(f"--events: at most {MAX_EVENTS_TEXT} characters")
    out: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        known = name == "*" or name in EVENTS or name.removesuffix(".*") in KINDS
        if not known:
            raise WebhookProblem(
                f"--events: unknown event {name[:60]!r}; events are {', '.join(EVENTS)}, "
                "or article.*, topic.*, expert.*, or *"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise WebhookProblem("--events: name at least one event (or * for all)")
    return out


def matches(patterns: Sequence[str], event: str) -> bool:
    kind = event.split(".", 1)[0]
    return any(p in ("*", event, f"{kind}.*") for p in patterns)


def retry_delay(attempts: int, scale: float = 1.0) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones (None: give up)."""
    if attempts >= len(SCHEDULE_S):
        return None
    return SCHEDULE_S[attempts] * scale


def new_secret() -> str:
    """A signing secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


# --- Webhooks ---------------------------------------------------------------------------------


async def add_webhook(
    session: AsyncSession, *, url: str, events: Sequence[str], description: str | None = None
) -> Webhook:
    """A new webhook (its secret made here), hearing of changes from now on. `url` must have
    been checked by the caller (api/webhooks/addresses.py), and `session` must hold the
    writers' lock (`open_session(write=True)`): `fan_out` relies on every change after
    `since_change_id` committing after the webhook does."""
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise WebhookProblem(f"--description: at most {MAX_DESCRIPTION} characters")
    newest = (await session.execute(select(func.max(Change.id)))).scalar() or 0
    if (await session.execute(select(Webhook.id).limit(1))).first() is None:
        # The fan-out skips its work while there are no webhooks: it starts from here.
        await session.execute(
            update(OutboxCursor.__table__)
            .where(OutboxCursor.name == CURSOR, OutboxCursor.change_id < newest)
            .values(change_id=newest)
        )
    webhook = Webhook(
        url=url,
        events=list(events),
        secret=new_secret(),
        description=description or None,
        since_change_id=int(newest),
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def list_webhooks(session: AsyncSession) -> list[Webhook]:
    return list((await session.execute(select(Webhook).order_by(Webhook.id))).scalars())


async def remove_webhook(session: AsyncSession, webhook_id: int) -> Webhook:
    """Remove a webhook, with its deliveries (pending ones are never sent)."""
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None:
        raise WebhookProblem(f"no webhook has id {webhook_id}")
    await session.delete(webhook)
    await session.flush()
    return webhook


# --- Deliveries -------------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    *,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 20,
) -> list[WebhookDelivery]:
    """The newest deliveries first (the delivery log)."""
    if not 1 <= limit <= MAX_LIST:
        raise WebhookProblem(f"--limit: between 1 and {MAX_LIST}")
    statement = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)  # type: ignore[union-attr]
    if webhook_id is not None:
        statement = statement.where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status.value)
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
        raise WebhookProblem(f"no delivery has id {delivery_id}")
    leased = delivery.leased_until
    if delivery.status == DeliveryStatus.PENDING and leased is not None and leased > now:
        raise WebhookProblem(
            f"delivery {delivery_id} is being sent now (an attempt is under way until "
            f"{leased:%Y-%m-%d %H:%M:%S} UTC at the latest): replay it once that attempt "
            "is logged, if it still needs to be"
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    await session.flush()
    return delivery


@asynccontextmanager
async def _short_write(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A short writing transaction that never waits for content writers on PostgreSQL
    (row locks are enough there); SQLite has one writer at a time, so it takes that lock."""
    async with open_session(engine, write=is_sqlite(engine)) as session:
        yield session


_BEHIND = select(
    OutboxCursor.change_id,
    select(func.max(Change.id)).scalar_subquery(),
    select(Webhook.id).limit(1).scalar_subquery(),
).where(OutboxCursor.name == CURSOR)


async def fan_out(
    engine: AsyncEngine, *, payload: Callable[[Change], str], batch: int = 500
) -> int:
    """Turn the changes after the cursor into deliveries (up to `batch` changes); the number
    of changes handled. Only public changes are told, each to the webhooks that subscribed
    to its event and were added before it. Reads first, so that an idle poll writes nothing
    (nor does one while there are no webhooks: adding the first moves the cursor); a second
    server fanning out at the same time skips its turn (PostgreSQL) or waits (SQLite)."""
    async with engine.connect() as connection:
        position = (await connection.execute(_BEHIND)).first()
    if position is not None and ((position[1] or 0) <= position[0] or position[2] is None):
        return 0
    async with _short_write(engine) as session:
        cursor = (
            await session.execute(
                select(OutboxCursor)
                .where(OutboxCursor.name == CURSOR)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if cursor is None:
            if position is not None:
                return 0  # another server holds it
            cursor = OutboxCursor(name=CURSOR, change_id=0)
            session.add(cursor)
        # The changes first, then the webhooks (PostgreSQL reads each statement afresh: this
        # transaction takes no writer's lock). A webhook is added under the writers' lock,
        # with `since_change_id` the newest change then, so any change it must hear of was
        # committed after it: a change this read sees had its webhooks committed before,
        # and the read below sees them. (Webhooks first, a webhook added between the reads
        # would miss the changes committed right after it.)
        changes = list(
            (
                await session.execute(
                    select(Change)
                    .where(Change.id > cursor.change_id)  # type: ignore[operator]
                    .order_by(Change.id)  # type: ignore[arg-type]
                    .limit(batch)
                )
            ).scalars()
        )
        if not changes:
            return 0
        webhooks = await list_webhooks(session)
        now = utcnow()
        rows = []
        for change in changes:
            if not change.public:
                continue
            event = event_type(change.entity, change.action)
            told = [
                w for w in webhooks if w.since_change_id < change.id and matches(w.events, event)
            ]  # type: ignore[operator]
            body = payload(change) if told else ""
            rows += [
                {
                    "message_id": new_message_id(),
                    "webhook_id": w.id,
                    "change_id": change.id,
                    "event_type": event,
                    "body": body,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for w in told
            ]
        for start in range(0, len(rows), 1000):
            await session.execute(insert(WebhookDelivery.__table__), rows[start : start + 1000])
        cursor.change_id = int(changes[-1].id)  # type: ignore[arg-type]
        return len(changes)


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with what sending it needs."""

    id: int
    message_id: str
    body: str
    attempt: int  # this attempt's number, from 1
    url: str
    secret: str


def _claimable(now: dt.datetime, per_webhook: int) -> Select[tuple[int]]:
    """The ids of due deliveries, taking at most `per_webhook` attempts under way to each
    webhook (counting those in flight, anywhere), fairly: each webhook's first due one,
    then each one's second, and so on, the longest due first among equals. A hung
    endpoint holds a few sending slots, never all of them."""
    pending = WebhookDelivery.status == DeliveryStatus.PENDING.value
    in_flight = (
        select(WebhookDelivery.webhook_id, func.count().label("n"))
        .where(pending, WebhookDelivery.leased_until > now)  # type: ignore[operator]
        .group_by(WebhookDelivery.webhook_id)
        .subquery()
    )
    turn = func.row_number().over(
        partition_by=WebhookDelivery.webhook_id,
        order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
    )
    due = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.next_attempt_at,
            (turn + func.coalesce(in_flight.c.n, 0)).label("load"),
        )
        .outerjoin(in_flight, in_flight.c.webhook_id == WebhookDelivery.webhook_id)
        .where(pending, WebhookDelivery.next_attempt_at <= now)  # type: ignore[operator]
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
    async with _short_write(engine) as session:
        # Locked, and checked again on the row as it is then: one another sender has just
        # claimed is due no longer.
        ids = list(
            (
                await session.execute(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.id.in_(claimable.limit(limit).scalar_subquery()),  # type: ignore[union-attr]
                        WebhookDelivery.status == DeliveryStatus.PENDING.value,
                        WebhookDelivery.next_attempt_at <= now,  # type: ignore[operator]
                    )
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if not ids:
            return []
        until = now + dt.timedelta(seconds=lease_s)
        await session.execute(
            update(WebhookDelivery.__table__)
            .where(WebhookDelivery.id.in_(ids))  # type: ignore[union-attr]
            .values(
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=now,
                next_attempt_at=until,
                leased_until=until,
            )
        )
        rows = await session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.message_id,
                WebhookDelivery.body,
                WebhookDelivery.attempts,
                Webhook.url,
                Webhook.secret,
            )
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)  # type: ignore[arg-type]
            .where(WebhookDelivery.id.in_(ids))  # type: ignore[union-attr]
            .order_by(WebhookDelivery.id)  # type: ignore[arg-type]
        )
        return [Claim(*row) for row in rows]


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
    async with _short_write(engine) as session:
        await session.execute(
            update(WebhookDelivery.__table__)
            .where(
                WebhookDelivery.id == attempt.id,
                WebhookDelivery.attempts == attempt.attempt,
            )
            .values(**values)
        )


async def prune(engine: AsyncEngine, *, before: dt.datetime) -> int:
    """Drop the log of deliveries made before `before` that are done (delivered or failed);
    how many went. Pending ones stay, however old."""
    done = [DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]
    old = (
        WebhookDelivery.status.in_(done),  # type: ignore[attr-defined]
        WebhookDelivery.created_at < before,  # type: ignore[operator]
    )
    async with engine.connect() as connection:  # nothing to drop: nothing written
        if not (await connection.execute(select(WebhookDelivery.id).where(*old).limit(1))).first():
            return 0
    async with _short_write(engine) as session:
        result = await session.execute(delete(WebhookDelivery.__table__).where(*old))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
