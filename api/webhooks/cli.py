"""`healthcontent webhooks add|list|remove|deliveries|replay`: parses and prints; the work
is schema/webhooks.py's and schema/deliveries.py's (and the URL check
api/webhooks/addresses.py's)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import ApiSettings
from api.webhooks.addresses import Refused, check_url
from schema import deliveries, webhooks
from schema.db import create_engine, open_session
from schema.settings import load_settings
from schema.tables import DeliveryStatus, WebhookDelivery
from seed_data import cli as seed_cli

PROGRAM = "healthcontent webhooks"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def row_id(text: str) -> int:
    """An id as argparse reads it: a whole number from 1 to MAX_ID."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not (text.strip().isascii() and 1 <= value <= MAX_ID):
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_ID}, not {text[:40]!r}"
        )
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "webhooks", help="signed webhooks: add, list, remove, and their deliveries"
    )
    sub = parser.add_subparsers(dest="webhooks_command", required=True)
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--database-url", help="overrides DATABASE_URL")
    add = sub.add_parser(
        "add", help="add a webhook and print its signing secret (once)", parents=[database]
    )
    add.add_argument("--url", required=True, help="where to POST (http or https)")
    add.add_argument(
        "--events",
        required=True,
        help="comma-separated: article.published, article.updated, ..., article.*, *",
    )
    add.add_argument("--description", help="who it is for (at most 200 characters)")
    sub.add_parser("list", help="list webhooks (never their secrets)", parents=[database])
    remove = sub.add_parser(
        "remove", help="remove a webhook and its deliveries", parents=[database]
    )
    remove.add_argument("id", type=row_id, help="the webhook's id (see `list`)")
    deliveries = sub.add_parser(
        "deliveries", help="the delivery log, newest first", parents=[database]
    )
    deliveries.add_argument("--webhook", type=row_id, help="only this webhook's")
    deliveries.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    deliveries.add_argument("--limit", type=int, default=20, help="at most this many (1-1000)")
    replay = sub.add_parser(
        "replay", help="send a delivery again now (same message id)", parents=[database]
    )
    replay.add_argument("id", type=row_id, help="the delivery's id (see `deliveries`)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(ApiSettings, database_url=args.database_url)
    try:
        return asyncio.run(_run(args, settings))
    except BrokenPipeError:
        raise
    except (DBAPIError, OSError) as exc:
        hint = "" if isinstance(exc, OSError) else "; has `healthcontent migrate` run?"
        print(
            f"{PROGRAM}: the database failed: {seed_cli.database_said(exc)}{hint}", file=sys.stderr
        )
        return 4


async def _run(args: argparse.Namespace, settings: ApiSettings) -> int:
    engine = create_engine(settings.database_url)
    try:
        try:
            if args.webhooks_command == "add":
                return await _add(engine, args, settings)
            if args.webhooks_command == "list":
                return await _list(engine)
            if args.webhooks_command == "remove":
                async with open_session(engine, write=True) as session:
                    removed = await webhooks.remove_webhook(session, args.id)
                print(f"Webhook {removed.id} ({removed.url}) removed, with its deliveries.")
                return 0
            if args.webhooks_command == "deliveries":
                return await _deliveries(engine, args)
            async with open_session(engine, write=True) as session:
                delivery = await deliveries.replay_delivery(session, args.id)
            print(f"Delivery {delivery.id} ({delivery.message_id}) will be sent again now.")
            return 0
        except (webhooks.WebhookProblem, deliveries.DeliveryProblem, Refused) as exc:
            print(f"{PROGRAM}: {exc}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()


async def _add(engine: AsyncEngine, args: argparse.Namespace, settings: ApiSettings) -> int:
    events = webhooks.parse_events(args.events)
    url = await check_url(args.url, allow_private=settings.webhooks_allow_private_urls)
    async with open_session(engine, write=True) as session:
        webhook = await webhooks.add_webhook(
            session, url=url, events=events, description=args.description
        )
        # Shown before it is stored: a secret nobody could read is never kept.
        print(webhook.secret, flush=True)
    print(
        f"Webhook {webhook.id} added for {url} (events: {', '.join(events)}). Its signing "
        "secret (above) is shown only this once: store it now.",
        file=sys.stderr,
    )
    return 0


async def _list(engine: AsyncEngine) -> int:
    async with open_session(engine) as session:
        rows = await webhooks.list_webhooks(session)
    print(f"{'ID':<6} {'CREATED':<20} {'EVENTS':<40} URL")
    for row in rows:
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        note = f"  ({row.description})" if row.description else ""
        print(f"{row.id:<6} {created:<20} {','.join(row.events):<40} {row.url}{note}")
    return 0


def _when(row: WebhookDelivery) -> str:
    moment = row.delivered_at or row.next_attempt_at or row.last_attempt_at
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


async def _deliveries(engine: AsyncEngine, args: argparse.Namespace) -> int:
    status = DeliveryStatus(args.status) if args.status else None
    async with open_session(engine) as session:
        rows = await deliveries.list_deliveries(
            session, webhook_id=args.webhook, status=status, limit=args.limit
        )
    print(
        f"{'ID':<8} {'WEBHOOK':<8} {'MESSAGE':<30} {'EVENT':<20} {'STATUS':<10} "
        f"{'ATTEMPTS':<9} {'WHEN (UTC: done, or next)':<26} LAST"
    )
    for row in rows:
        last = row.last_error or (str(row.last_status_code) if row.last_status_code else "-")
        print(
            f"{row.id:<8} {row.webhook_id:<8} {row.message_id:<30} {row.event_type:<20} "
            f"{row.status:<10} {row.attempts:<9} {_when(row):<26} {last}"
        )
    return 0
