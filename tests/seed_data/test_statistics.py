"""After a large load the planner's statistics are fresh: no wait for autovacuum (a server
may run none), or a count and a search go from milliseconds to a full scan."""

from __future__ import annotations

from pathlib import Path

import pytest

import seed_data.loader
from schema.db import is_sqlite
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
