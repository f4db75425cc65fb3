"""The `healthcontent` command: a thin layer over library functions."""

from __future__ import annotations

import argparse
import asyncio
import sys

from schema.db import create_engine
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
    import uvicorn

    load_settings()  # a bad DATABASE_URL is one plain sentence, before any worker starts
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
    )
    return 0


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
    serve.set_defaults(handler=_serve)

    schema_command = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema_command.set_defaults(handler=_print_schema)

    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"healthcontent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
