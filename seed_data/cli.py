"""`healthcontent seed` / `python -m seed_data`: parse arguments, load, print what happened."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.db import WRITE_LOCK_WAIT_MS, create_engine
from schema.migrate import current_revision, head_revision
from schema.settings import SettingsError, load_settings
from seed_data import SEED_DIR
from seed_data.loader import LoadResult, load_paths
from seed_data.progress import ProgressDisplay


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="content folders or files (default: the bundled seed_data/)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and report what would change; write nothing",
    )
    parser.add_argument("--database-url", help="overrides DATABASE_URL")


def report(result: LoadResult, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # sys.stdout and sys.stderr as they are now, not at import: a caller (or a test) may have
    # replaced them since.
    out, err = out or sys.stdout, err or sys.stderr
    if not result.ok:
        for line in result.problems:
            print(line, file=err)
        n = len(result.problems)
        print(f"{n} problem{'s' * (n != 1)} found; nothing was written.", file=err)
        return 1
    verb = "would be " if result.dry_run else ""
    for kind, changes in result.changed.items():
        for what in ("created", "updated"):
            for slug in changes[what][:20]:
                print(f"{verb}{what} {kind[:-1]} {slug}", file=out)
            if len(changes[what]) > 20:
                print(f"... and {len(changes[what]) - 20} more {kind} {verb}{what}", file=out)
    for kind, counts in result.counts.items():
        print(
            f"{kind}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged",
            file=out,
        )
    summary = (
        f"{result.total('created')} created, {result.total('updated')} updated, "
        f"{result.total('unchanged')} unchanged"
    )
    if result.dry_run:
        summary = f"dry run: {summary}; nothing was written"
    print(summary, file=out)
    return 0


async def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(database_url=args.database_url)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = create_engine(settings.database_url)
    try:
        return await _load(engine, args)
    except BrokenPipeError:
        raise  # our reader went away (`| head`): not the database (see `closed_pipe`)
    except (DBAPIError, ConnectionError, TimeoutError) as exc:
        # A full disk, a lost connection, a server that went away: the load's transaction
        # was rolled back (or never began), so say what the database said, not a traceback.
        print(
            f"the database failed: {database_said(exc)}; nothing was written "
            "(a load is all or nothing: run it again once that is fixed)",
            file=sys.stderr,
        )
        return 4
    finally:
        with contextlib.suppress(Exception):  # a failed database may fail to close, too
            await engine.dispose()


async def _load(engine: AsyncEngine, args: argparse.Namespace) -> int:
    current, head = await current_revision(engine), head_revision()
    if current != head:
        print(
            f"the database is at migration {current or '(none)'}, not {head}: "
            "run `healthcontent migrate` first",
            file=sys.stderr,
        )
        return 2
    progress = ProgressDisplay()
    try:
        result = await load_paths(
            engine=engine,
            paths=args.paths or [SEED_DIR],
            dry_run=args.dry_run,
            progress=progress,
        )
    except OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        print(
            f"another process kept the database locked for over "
            f"{WRITE_LOCK_WAIT_MS // 1000} s (probably another load); nothing was "
            "written: try again when it has finished",
            file=sys.stderr,
        )
        return 3
    finally:
        progress.finish()
    return report(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seed_data", description="Validate and load content files."
    )
    add_arguments(parser)
    try:
        return asyncio.run(run(parser.parse_args(argv)))
    except BrokenPipeError:
        return closed_pipe()


def database_said(error: BaseException) -> str:
    """The first line of what the database (or the driver) said, for a one-line message."""
    reason = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    said = str(reason).strip()
    return said.splitlines()[0] if said else type(reason).__name__


def closed_pipe() -> int:
    """The exit status for a reader that went away (`... | head`): not an error of ours, so
    no traceback. Standard output goes to /dev/null so that Python's last flush does not
    fail again; 141 is what a shell reports for a process ended by SIGPIPE."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141
