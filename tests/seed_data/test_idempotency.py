"""Upserts by slug: a second run of the same files changes nothing, an edit changes just that."""

from __future__ import annotations

from pathlib import Path

import pytest

from seed_data.cli import main as seed
from tests.helpers import dump, load, query


def test_second_load_changes_nothing_in_any_table(database_url: str, content_dir: Path) -> None:
    first = load(database_url, content_dir)
    assert first.ok, first.problems
    assert first.total("created") == 12
    before = dump(database_url)

    second = load(database_url, content_dir)

    assert second.ok, second.problems
    assert (second.total("created"), second.total("updated"), second.total("unchanged")) == (
        0,
        0,
        12,
    )
    assert dump(database_url) == before


def test_cli_reports_unchanged_on_second_run(
    database_url: str, content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [str(content_dir), "--database-url", database_url]  # python -m seed_data ...
    first_code = seed(command)
    first = capsys.readouterr()
    assert first_code == 0, first.err
    assert "12 created, 0 updated, 0 unchanged" in first.out

    second_code = seed(command)
    second = capsys.readouterr()

    assert second_code == 0, second.err
    assert second.out.strip().endswith("0 created, 0 updated, 12 unchanged")


def test_editing_one_article_updates_only_it(database_url: str, content_dir: Path) -> None:
    load(database_url, content_dir)
    before = dump(database_url)
    path = content_dir / "articles" / "magnesium-for-kidney-stones.md"
    path.write_text(path.read_text() + "\nA new paragraph.\n")

    result = load(database_url, content_dir)

    assert result.changed["articles"]["updated"] == ["magnesium-for-kidney-stones"]
    assert (result.total("created"), result.total("updated")) == (0, 1)
    [row] = query(
        database_url,
        "SELECT version, body_text, created_at, updated_at, published_at FROM article "
        "WHERE slug = 'magnesium-for-kidney-stones'",
    )
    [old] = [r for r in before["article"] if r["slug"] == "magnesium-for-kidney-stones"]
    assert row["version"] == 2
    assert row["body_text"].endswith("A new paragraph.")
    assert row["created_at"] == old["created_at"]
    assert row["published_at"] == old["published_at"]  # keeps its first publication date
    assert row["updated_at"] > old["updated_at"]
    after = dump(database_url)
    assert after["quote"] == before["quote"]  # the other article's children are untouched
    assert after["topic"] == before["topic"]


def test_dry_run_reports_changes_and_writes_nothing(database_url: str, content_dir: Path) -> None:
    before = dump(database_url)

    result = load(database_url, content_dir, dry_run=True)

    assert result.ok and result.dry_run
    assert result.total("created") == 12
    assert dump(database_url) == before
