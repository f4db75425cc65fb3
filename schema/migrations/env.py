"""Alembic environment: runs migrations on our own async engine (same pragmas as the service)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import schema.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from schema.db import create_engine
from schema.settings import Settings
from schema.tables import UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    return config.attributes.get("database_url") or Settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Our UTCDateTime is a Python-side adapter; the column is a plain timezone-aware DATETIME.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Full-text search lives outside the models (FTS5 tables, a tsvector column): see 0002.
_SEARCH_OBJECTS = ("article_search", "search_vector", "ix_article_search_vector")


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (name or "").startswith(_SEARCH_OBJECTS)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        include_name=_include_name,
        compare_type=True,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (lower(title), 0006): autogenerate compares
        # them on PostgreSQL only, and on SQLite says so in two warnings that are expected.
        warnings.filterwarnings(
            "ignore", message=r".*expression-based index '?ix_article_status_lower_title_id"
        )
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            # A writer: on SQLite the whole migration runs in one BEGIN IMMEDIATE transaction.
            connection = await connection.execution_options(write=True)
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
