"""The `healthcontent` command: a thin layer over library functions."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from sqlalchemy.exc import DBAPIError

from api.webhooks import cli as webhooks_cli
from schema import keys
from schema.db import create_engine, open_session
from schema.migrate import current_revision, upgrade
from schema.settings import SettingsError, load_settings
from seed_data import cli as seed_cli


async def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings(database_url=args.database_url)
    upgrade(settings.database_url, args.revision)
    revision = asyncio.run(_revision(settings.database_url))
    print(f"database is at migration {revision or '(none)'} ({_safe(settings.database_url)})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from api.server import serve
    from api.settings import ApiSettings

    # Workers are separate processes that read their settings from the environment.
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    # A bad setting is one plain sentence, before workers start.
    settings = load_settings(ApiSettings)
    if "site_url" not in settings.model_fields_set:  # article URLs point where we serve
        os.environ["SITE_URL"] = served_url(args.host, args.port)
    serve(args.host, args.port, args.workers, access_log=settings.access_log)
    return 0


def served_url(host: str, port: int) -> str:
    """The base URL of a server listening on `host`:`port`, as a browser on this machine
    would write it (a wildcard address is reached as localhost)."""
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"  # IPv6
    return f"http://{host}:{port}"


def _keys(args: argparse.Namespace) -> int:
    settings = load_settings(database_url=args.database_url)
    try:
        return asyncio.run(_run_keys(args, settings.database_url))
    except BrokenPipeError:
        raise  # our reader went away, not the database
    except (DBAPIError, OSError) as exc:
        text = seed_cli.database_said(exc)
        hint = "" if isinstance(exc, OSError) else "; has `healthcontent migrate` run?"
        where = _safe(settings.database_url)
        print(f"healthcontent keys: the database failed: {text} ({where}{hint})", file=sys.stderr)
        return 4


async def _run_keys(args: argparse.Namespace, url: str) -> int:
    engine = create_engine(url)
    try:
        if args.keys_command == "create":
            try:
                scopes = keys.parse_scopes(args.scopes or "")
                origins = [keys.parse_origin(o) for o in args.origin]
                rate = keys.parse_rate(args.rate) if args.rate else None
                async with open_session(engine, write=True) as session:
                    new = await keys.create_key(
                        session,
                        name=args.name,
                        scopes=scopes,
                        origins=origins,
                        rate_per_minute=rate,
                    )
                    # Shown before it is stored: a key nobody could read is never kept.
                    print(new.token, flush=True)
            except keys.KeyProblem as exc:
                print(f"healthcontent keys: {exc}", file=sys.stderr)
                return 1
            print(
                f"Key {args.name!r} created (scopes: {', '.join(scopes) or 'none'}). "
                "This is the only time it is shown: store it now.",
                file=sys.stderr,
            )
            return 0
        if args.keys_command == "revoke":
            try:
                async with open_session(engine, write=True) as session:
                    await keys.revoke_key(session, args.name)
            except keys.KeyProblem as exc:
                print(f"healthcontent keys: {exc}", file=sys.stderr)
                return 1
            print(f"Key {args.name!r} revoked.")
            return 0
        async with open_session(engine) as session:
            rows = await keys.list_keys(session)
        print(f"{'NAME':<24} {'PREFIX':<12} {'SCOPES':<16} {'RATE':<10} {'STATUS':<8} ORIGINS")
        for row in rows:
            per_minute = f"{row.rate_per_minute}/min" if row.rate_per_minute else "default"
            status = "revoked" if row.revoked_at else "active"
            print(
                f"{row.name:<24} {row.prefix:<12} {','.join(row.scopes) or '-':<16} "
                f"{per_minute:<10} {status:<8} {' '.join(row.origins) or '-'}"
            )
        return 0
    finally:
        await engine.dispose()


def _print_schema(args: argparse.Namespace) -> int:
    from api.graphql.schema import schema

    print(str(schema).strip())
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthcontent", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument(
        "revision", nargs="?", default="head", help="upgrade to this revision (default: head)"
    )
    migrate.add_argument("--database-url", help="overrides DATABASE_URL")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="validate and load content files (all or nothing)")
    seed_cli.add_arguments(seed)
    seed.set_defaults(handler=lambda args: asyncio.run(seed_cli.run(args)))

    serve = commands.add_parser("serve", help="serve the GraphQL API over HTTP (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    serve.add_argument("--database-url", help="overrides DATABASE_URL")
    serve.set_defaults(handler=_serve)

    keys_parser = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--database-url", help="overrides DATABASE_URL")
    create = keys_commands.add_parser(
        "create", help="make a key and print it (once)", parents=[database]
    )
    create.add_argument("--name", required=True, help="who holds it, e.g. partner-acme")
    create.add_argument("--scopes", default="", help="comma-separated: preview, write")
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        help="a browser origin allowed to call with this key (CORS); repeat for more",
    )
    create.add_argument("--rate", help="its rate limit, e.g. 600/min (default: RATE_LIMIT_KEY)")
    keys_commands.add_parser(
        "list", help="list keys (never the keys themselves)", parents=[database]
    )
    revoke = keys_commands.add_parser(
        "revoke", help="revoke a key by name, at once", parents=[database]
    )
    revoke.add_argument("name")
    keys_parser.set_defaults(handler=_keys)

    webhooks_cli.add_parser(commands)

    schema_command = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema_command.set_defaults(handler=_print_schema)

    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"healthcontent: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `healthcontent schema | head`
        return seed_cli.closed_pipe()


if __name__ == "__main__":
    sys.exit(main())
