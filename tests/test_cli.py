"""The `healthcontent` command on real databases. Its commands are called in-process
(`api.cli.main([...])`, as sqlite-utils tests its CLI); real processes only where the
behaviour needs one: the installed entry point a newcomer runs, a terminal, a closed pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from api.cli import main
from schema.migrate import head_revision, upgrade
from seed_data.synthetic import write_content
from tests.helpers import TABLES, query

# The console script pip installed (pyproject's [project.scripts]), beside this Python.
HEALTHCONTENT = [str(Path(sys.executable).with_name("healthcontent"))]


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


Healthcontent = Callable[..., Ran]


@pytest.fixture
def healthcontent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Healthcontent:
    """`healthcontent ARGS` with DATABASE_URL=url, in this process."""

    def run(*args: str, url: str) -> Ran:
        monkeypatch.setenv("DATABASE_URL", url)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def _process(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [*HEALTHCONTENT, *args], capture_output=True, text=True, env=env, check=False
    )


def test_migrate_then_seed_loads_the_bundled_content(empty_database_url: str) -> None:
    # The one test of the installed entry point itself, in real processes.
    migrated = _process("migrate", url=empty_database_url)
    assert migrated.returncode == 0, migrated.stderr
    assert f"database is at migration {head_revision()} " in migrated.stdout

    seeded = _process("seed", url=empty_database_url)

    assert seeded.returncode == 0, seeded.stderr
    assert "created article magnesium-for-chronic-pain" in seeded.stdout
    assert "created expert linda-rapson" in seeded.stdout
    assert seeded.stdout.strip().endswith("12 created, 0 updated, 0 unchanged")
    titles = {r["title"] for r in query(empty_database_url, "SELECT title FROM article")}
    assert titles == {"Magnesium For Chronic Pain: Does it Help?", "Magnesium for Kidney Stones"}


def test_seed_on_an_unmigrated_database_says_to_migrate(
    healthcontent: Healthcontent, empty_database_url: str
) -> None:
    result = healthcontent("seed", url=empty_database_url)

    assert result.returncode == 2
    assert "run `healthcontent migrate` first" in result.stderr
    for table in TABLES:  # nothing was created behind the user's back
        assert table not in result.stdout


def test_dry_run_says_nothing_was_written(healthcontent: Healthcontent, database_url: str) -> None:
    result = healthcontent("seed", "--dry-run", url=database_url)

    assert result.returncode == 0, result.stderr
    assert "would be created article magnesium-for-chronic-pain" in result.stdout
    assert result.stdout.strip().endswith(
        "dry run: 12 created, 0 updated, 0 unchanged; nothing was written"
    )
    assert query(database_url, "SELECT count(*) AS n FROM article") == [{"n": 0}]


def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    content = write_content(tmp_path / "content", 300)
    url = f"sqlite:///{tmp_path / 'content.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url}

    # A real pseudo-terminal, as a person at a shell would have: a process of its own.
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child process
        os.execvpe(HEALTHCONTENT[0], [*HEALTHCONTENT, "seed", str(content)], env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode()

    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "\rreading" in text and "300/300" in text
    assert "[##############################]" in text
    assert "articles: 300 created" in text


def test_an_unusable_database_url_gets_one_plain_sentence(healthcontent: Healthcontent) -> None:
    for command in (["migrate"], ["seed"]):
        result = healthcontent(*command, url="mysql://root@localhost/content")

        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "DATABASE_URL dialect 'mysql' is not supported" in result.stderr


def test_keys_take_a_database_url(healthcontent: Healthcontent, database_url: str) -> None:
    nowhere = "postgresql://postgres@127.0.0.1:1/nowhere"
    created = healthcontent(
        "keys", "create", "--name", "partner", "--database-url", database_url, url=nowhere
    )
    assert created.returncode == 0, created.stderr
    listed = healthcontent("keys", "list", "--database-url", database_url, url=nowhere)
    assert "partner" in listed.stdout

    unreachable = healthcontent("keys", "list", url=nowhere)
    assert unreachable.returncode == 4
    assert unreachable.stderr.startswith("healthcontent keys: the database failed: ")
    assert "Traceback" not in unreachable.stderr


def _into_a_closed_pipe(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """`healthcontent ... | head` where the reader has gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*HEALTHCONTENT, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DATABASE_URL": url},
        )
    finally:
        os.close(write_end)


def test_a_reader_that_goes_away_is_no_error(database_url: str) -> None:
    for command in (["schema"], ["seed"], ["keys", "list"], ["keys", "create", "--name", "lost"]):
        result = _into_a_closed_pipe(*command, url=database_url)
        assert result.returncode == 141, (command, result.stderr)  # as a shell reports SIGPIPE
        assert result.stderr == "", command  # no traceback, no false "the database failed"
    # The load itself was done; the key, which nobody could have read, was not kept.
    assert query(database_url, "SELECT count(*) AS n FROM article") == [{"n": 2}]
    assert query(database_url, "SELECT count(*) AS n FROM api_key") == [{"n": 0}]
