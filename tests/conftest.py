"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
If it does not answer, the PostgreSQL half is skipped locally, but with CI=true the run fails:
CI must never pass by quietly testing one database.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from schema.migrate import upgrade
from seed_data import SEED_DIR

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# No test takes more than a minute or two; one that hangs ends the run with every thread's
# stack printed, instead of using up CI's time in silence.
TEST_HANG_S = float(os.environ.get("TEST_HANG_S", "300"))
# Every query of the suite runs through the fast executor and graphql-core both, and any
# difference in their answers fails the test (api/executor.py; servers the tests start
# inherit it).
os.environ.setdefault("EXECUTOR_CHECK", "1")


_HANG_OUTPUT = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    # The stacks go to the terminal, not to the hanging test's captured output.
    config.stash[_HANG_OUTPUT] = os.dup(sys.stderr.fileno())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    output = item.config.stash[_HANG_OUTPUT]
    faulthandler.dump_traceback_later(TEST_HANG_S, exit=True, file=output)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _pg_execute(*statements: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _pg_reachable() -> str | None:
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class PostgresDatabases:
    """Creates throwaway databases on the test server and drops them afterwards."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"hc_test_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        asyncio.run(_pg_execute(f"CREATE DATABASE {name}{clause}"))
        self.created.append(name)
        return _asyncpg_dsn(PG_ADMIN_URL, name)

    def drop_all(self) -> None:
        if self.created:
            asyncio.run(
                _pg_execute(*(f"DROP DATABASE IF EXISTS {n} WITH (FORCE)" for n in self.created))
            )
        self.created.clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    problem = _pg_reachable()
    if problem is not None:
        message = f"PostgreSQL at {make_url(PG_ADMIN_URL)!r} is not reachable ({problem})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires both databases", pytrace=False)
        pytest.skip(message)
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def migrated_templates() -> dict[str, str]:
    """One migrated database per backend, cloned for each test (migrating each time is slow)."""
    return {}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with nothing in it, not even the schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'content.db'}"
    return request.getfixturevalue("postgres").create()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_templates: dict[str, str],
) -> str:
    """A freshly migrated, empty database on each backend."""
    backend = request.param
    if backend == "sqlite":
        if "sqlite" not in migrated_templates:
            template = tmp_path_factory.mktemp("template") / "content.db"
            upgrade(f"sqlite:///{template}")
            migrated_templates["sqlite"] = str(template)
        target = tmp_path / "content.db"
        shutil.copyfile(migrated_templates["sqlite"], target)
        return f"sqlite:///{target}"
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    if "postgresql" not in migrated_templates:
        url = postgres.create()
        upgrade(url)
        migrated_templates["postgresql"] = make_url(url).database
    return postgres.create(template=migrated_templates["postgresql"])


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled seed content, for tests to edit."""
    target = tmp_path / "content"
    shutil.copytree(SEED_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing here (a service, a command, a browser): the test is
    skipped locally, and fails under CI=true, which must test everything."""
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def reachable_redis() -> str:
    """TEST_REDIS_URL, once it answers; else the test is skipped (failed with CI=true)."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {TEST_REDIS_URL} is not reachable ({exc})")
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture(autouse=True)
def _executors_agree() -> Iterator[None]:
    """No query of the test answered differently through the fast executor and graphql-core
    (even where the test itself expected a failure)."""
    from api.executor import MISMATCHES

    before = len(MISMATCHES)
    yield
    assert MISMATCHES[before:] == [], "the executors disagreed"
