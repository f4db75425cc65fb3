"""After a large load the planner's statistics are fresh: no wait for autovacuum (a server
may run none), or a count and a search go from milliseconds to a full scan."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import seed_data.loader
from schema.db import is_sqlite
from schema.migrate import upgrade
from tests.helpers import load, query


def _analyzed(url: str) -> bool:
    if is_sqlite(url):
        tables = query(url, "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        return bool(tables) and bool(query(url, "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'article'"))
    [row] = query(
        url,
        "SELECT last_analyze, last_vacuum FROM pg_stat_user_tables WHERE relname = 'article'",
    )
    return row["last_analyze"] is not None and row["last_vacuum"] is not None


@pytest.mark.parametrize("large", [2, 1_000_000], ids=["large", "small"])
def test_a_large_load_refreshes_statistics(
    database_url: str, content_dir: Path, monkeypatch: pytest.MonkeyPatch, large: int
) -> None:
    monkeypatch.setattr(seed_data.loader, "LARGE_WRITE", large)
    assert load(database_url, content_dir).ok
    assert _analyzed(database_url) == (large == 2)


def test_a_refresh_that_cannot_run_does_not_fail_the_load(
    tmp_path: Path, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer holds SQLite's lock when the load, already committed, would ANALYZE.
    url = f"sqlite:///{tmp_path / 'content.db'}"
    upgrade(url)
    monkeypatch.setattr(seed_data.loader, "LARGE_WRITE", 2)
    holder = sqlite3.connect(tmp_path / "content.db", isolation_level=None)
    real = seed_data.loader.refresh_statistics

    async def while_locked(engine: Any) -> bool:
        holder.execute("BEGIN IMMEDIATE")
        try:
            refreshed = await real(engine)
        finally:
            holder.execute("ROLLBACK")
        assert refreshed is False
        return refreshed

    monkeypatch.setattr(seed_data.loader, "refresh_statistics", while_locked)
    result = load(url, content_dir)
    assert result.ok and result.total("created") == 12
    assert query(url, "SELECT count(*) AS n FROM article")[0]["n"] == 2
