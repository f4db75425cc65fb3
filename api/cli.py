"""The `healthcontent` command: a thin layer over library functions."""

from __future__ import annotations

import argparse
import asyncio
import sys

from schema.migrate import upgrade
from schema.settings import Settings
from seed_data import cli as seed_cli


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings(**({"database_url": args.database_url} if args.database_url else {}))
    upgrade(settings.database_url, args.revision)
    print(f"database is at migration {args.revision} ({_safe(settings.database_url)})")
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthcontent", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate.add_argument("--database-url", help="overrides DATABASE_URL")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="validate and load content files (all or nothing)")
    seed_cli.add_arguments(seed)
    seed.set_defaults(handler=lambda args: asyncio.run(seed_cli.run(args)))

    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
