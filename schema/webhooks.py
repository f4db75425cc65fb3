"""Webhooks: who hears of which public changes, and the fan-out that tells them.

The fan-out turns outbox changes (schema/changes.py) into one delivery per matching webhook
(schema/deliveries.py keeps them), in the transaction that moves its cursor
(`outbox_cursor`), so each change is fanned out exactly once, whenever a server next runs.
Nothing here speaks HTTP (api/webhooks does); the body is built by the caller's `payload`
function.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from schema.deliveries import new_message_id, short_write
from schema.tables import (
    Change,
    ChangeAction,
    ChangeEntity,
    DeliveryStatus,
    OutboxCursor,
    Webhook,
    WebhookDelivery,
    core_table,
    utcnow,
)

CURSOR = "webhooks"  # the fan-out's row in outbox_cursor
# Written with the Core statements, skipping the ORM: a bulk insert, an update by key.
_CURSOR, _DELIVERY = core_table(OutboxCursor), core_table(WebhookDelivery)

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


def new_secret() -> str:
    """A signing secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    newest = (await session.execute(select(func.max(col(Change.id))))).scalar() or 0
    if (await session.execute(select(col(Webhook.id)).limit(1))).first() is None:
        # The fan-out skips its work while there are no webhooks: it starts from here.
        await session.execute(
            update(_CURSOR)
            .where(col(OutboxCursor.name) == CURSOR, col(OutboxCursor.change_id) < newest)
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
    return list((await session.execute(select(Webhook).order_by(col(Webhook.id)))).scalars())


async def remove_webhook(session: AsyncSession, webhook_id: int) -> Webhook:
    """Remove a webhook, with its deliveries (pending ones are never sent)."""
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None:
        raise WebhookProblem(f"no webhook has id {webhook_id}")
    await session.delete(webhook)
    await session.flush()
    return webhook


# --- The fan-out ------------------------------------------------------------------------------

_BEHIND = select(
    col(OutboxCursor.change_id),
    select(func.max(col(Change.id))).scalar_subquery(),
    select(col(Webhook.id)).limit(1).scalar_subquery(),
).where(col(OutboxCursor.name) == CURSOR)


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
    async with short_write(engine) as session:
        cursor = (
            await session.execute(
                select(OutboxCursor)
                .where(col(OutboxCursor.name) == CURSOR)
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
                    .where(col(Change.id) > cursor.change_id)
                    .order_by(col(Change.id))
                    .limit(batch)
                )
            ).scalars()
        )
        if not changes:
            return 0
        webhooks = await list_webhooks(session)
        now = utcnow()
        rows: list[dict[str, object]] = []
        for change in changes:
            assert change.id is not None  # read from the table
            if not change.public:
                continue
            event = event_type(change.entity, change.action)
            told = [
                w for w in webhooks if w.since_change_id < change.id and matches(w.events, event)
            ]
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
            await session.execute(insert(_DELIVERY), rows[start : start + 1000])
        last = changes[-1].id
        assert last is not None  # read from the table
        cursor.change_id = last
        return len(changes)
