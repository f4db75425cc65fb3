"""A load that fills the disk: a plain message, exit status 4, and nothing half-written.

The disk is real: a small tmpfs holds the SQLite database, or the PostgreSQL tablespace the
database lives in. Mounting needs root (CI runs as root); elsewhere the test is skipped,
and with CI=true it fails instead.
"""

from __future__ import annotations

import asyncio
import pwd
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import write_content
from schema.migrate import upgrade
from seed_data import SEED_DIR
from seed_data.cli import main as seed
from tests.conftest import IN_CI, PG_ADMIN_URL, _asyncpg_dsn, _pg_execute
from tests.helpers import dump, load


@contextmanager
def _tmpfs(size: str, owner: str | None = None) -> Iterator[Path]:
    """A tmpfs of `size` at a fresh directory any user can reach, owned by `owner`."""
    mount_point = Path(f"/tmp/hc-small-disk-{uuid.uuid4().hex[:8]}")
    mount_point.mkdir(mode=0o755)
    options = f"size={size},mode=0700"
    if owner is not None:
        user = pwd.getpwnam(owner)
        options += f",uid={user.pw_uid},gid={user.pw_gid}"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        message = f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})"
        if IN_CI:
            pytest.fail(f"{message}; CI must test a full disk", pytrace=False)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def _load_until_full(url: str, content: Path, capsys: Any) -> tuple[int, str]:
    before = dump(url)
    status = seed([str(content), "--database-url", url])
    err = capsys.readouterr().err
    assert dump(url) == before  # nothing of the failed load was written
    return status, err


def test_sqlite_on_a_full_disk(tmp_path: Path, capsys: Any) -> None:
    content = write_content(tmp_path / "content", 400)
    with _tmpfs("3m") as disk:
        url = f"sqlite:///{disk / 'content.db'}"
        upgrade(url)
        assert load(url, SEED_DIR).ok  # the seed fits; 400 more articles do not
        status, err = _load_until_full(url, content, capsys)
    assert status == 4, err
    assert "the database failed: database or disk is full; nothing was written" in err
    assert "Traceback" not in err


def test_postgresql_on_a_full_disk(postgres: Any, tmp_path: Path, capsys: Any) -> None:
    content = write_content(tmp_path / "content", 400)
    tablespace, database = f"hc_small_{uuid.uuid4().hex[:8]}", f"hc_full_{uuid.uuid4().hex[:8]}"
    with _tmpfs("6m", owner="postgres") as disk:
        asyncio.run(_pg_execute(f"CREATE TABLESPACE {tablespace} LOCATION '{disk}'"))
        try:
            asyncio.run(_pg_execute(f"CREATE DATABASE {database} TABLESPACE {tablespace}"))
            url = _asyncpg_dsn(PG_ADMIN_URL, database)
            try:
                upgrade(url)
                assert load(url, SEED_DIR).ok
                status, err = _load_until_full(url, content, capsys)
            finally:
                asyncio.run(_pg_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        finally:
            asyncio.run(_pg_execute(f"DROP TABLESPACE IF EXISTS {tablespace}"))
    assert status == 4, err
    assert "the database failed: could not extend file" in err
    assert "No space left on device" in err and "nothing was written" in err
    assert "Traceback" not in err
