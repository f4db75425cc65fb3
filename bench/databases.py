"""Throwaway benchmark databases: a SQLite file, or a database on the PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(make_url(PG_ADMIN_URL).render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind` ("sqlite" or "postgresql"), dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{uuid.uuid4().hex}.db'}"
        return
    name = f"hc_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
