"""A load killed with SIGKILL in the middle of writing leaves the old content or the new, never
a mix, and the next run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seed_data.synthetic import write_content
from tests.helpers import load, query

ARTICLES = 2000


def _state(url: str) -> dict[str, int]:
    """How many articles are in each edition, and how many rows their children have."""
    [row] = query(
        url,
        "SELECT "
        " (SELECT count(*) FROM article WHERE body_markdown LIKE 'Edition 1.%') AS edition_1,"
        " (SELECT count(*) FROM article WHERE body_markdown LIKE 'Edition 2.%') AS edition_2,"
        " (SELECT count(*) FROM article WHERE version = 1) AS version_1,"
        " (SELECT count(*) FROM article WHERE version = 2) AS version_2,"
        " (SELECT count(*) FROM quote) AS quotes,"
        " (SELECT count(*) FROM reference) AS refs,"
        " (SELECT count(*) FROM article_topic) AS topic_links,"
        " (SELECT count(*) FROM related_link) AS related",
    )
    return row


OLD = {
    "edition_1": ARTICLES,
    "edition_2": 0,
    "version_1": ARTICLES,
    "version_2": 0,
    "quotes": ARTICLES,
    "refs": 3 * ARTICLES,
    "topic_links": 3 * ARTICLES,
    "related": ARTICLES,
}
NEW = {**OLD, "edition_1": 0, "edition_2": ARTICLES, "version_1": 0, "version_2": ARTICLES}


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same articles twice: edition 1, then edition 2 with every body changed."""
    root = tmp_path_factory.mktemp("editions")
    return (
        write_content(root / "old", ARTICLES, edition=1),
        write_content(root / "new", ARTICLES, edition=2),
    )


@pytest.mark.slow
def test_sigkill_during_the_write_leaves_old_or_new_and_a_rerun_succeeds(
    database_url: str, editions: tuple[Path, Path]
) -> None:
    old, new = editions
    assert load(database_url, old).ok
    assert _state(database_url) == OLD

    states = []
    for delay in (0.0, 0.25):
        loader = subprocess.Popen(
            [sys.executable, "-m", "seed_data", str(new), "--database-url", database_url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert loader.stderr is not None
        # The loader says "writing N articles" once validation is done and the writes begin.
        for line in loader.stderr:
            if line.startswith("writing"):
                break
        else:
            pytest.fail(f"loader ended (code {loader.wait()}) without starting to write")
        time.sleep(delay)
        os.kill(loader.pid, signal.SIGKILL)
        loader.wait()
        loader.stderr.close()

        state = _state(database_url)
        assert state in (OLD, NEW), f"a mix after SIGKILL at +{delay}s: {state}"
        states.append(state)

    # At least one kill must have landed before the commit, or this test proved nothing.
    assert OLD in states

    rerun = load(database_url, new)
    assert rerun.ok, rerun.problems
    assert _state(database_url) == NEW


def _start_loader(content: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "seed_data", str(content), "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_loads_at_once_both_succeed_one_after_the_other(
    database_url: str, tmp_path: Path
) -> None:
    # Creating the same content twice at once: one creates it, the other finds it unchanged
    # (no unique-violation crash).
    first = write_content(tmp_path / "e1", 60, edition=1)
    runs = [_start_loader(first, database_url) for _ in range(2)]
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    summaries = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert summaries == [
        "0 created, 0 updated, 120 unchanged",
        "120 created, 0 updated, 0 unchanged",
    ]

    # Two different editions at once: both updates land, in turn, so no version bump is lost.
    runs = [
        _start_loader(write_content(tmp_path / f"e{n}", 60, edition=n), database_url)
        for n in (2, 3)
    ]
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    rows = query(
        database_url,
        "SELECT version, count(*) AS n, min(substr(body_markdown, 1, 9)) AS first_edition, "
        "max(substr(body_markdown, 1, 9)) AS last_edition FROM article GROUP BY version",
    )
    assert len(rows) == 1 and rows[0]["version"] == 3 and rows[0]["n"] == 60, rows
    assert rows[0]["first_edition"] == rows[0]["last_edition"]  # one edition, not a mix
