"""A load that fills the disk: a plain message, exit status 4, and nothing half-written.

The disk is real: a small tmpfs holds the SQLite database, or the PostgreSQL tablespace the
database lives in. Mounting needs root (CI runs as root); elsewhere the test is skipped,
and with CI=true it fails instead.
"""

from __future__ import annotations

import asyncio
import pwd
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from schema.migrate import upgrade
from seed_data import SEED_DIR
from seed_data.cli import main as seed
from seed_data.synthetic import write_content
from tests.conftest import unavailable
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
        unavailable(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
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


@contextmanager
def _private_postgres() -> Iterator[str]:
    """A PostgreSQL server of the test's own (the same binaries as the shared one): a full
    disk fails whichever session must write the dirty pages it holds, and on a shared server
    that could be another run's session. Yields its admin URL."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        unavailable("no PostgreSQL server binaries (initdb) on this machine")
    bin_dir = binaries[-1].parent
    # Outside pytest's own temporary folders, which only root may enter.
    directory = Path(f"/tmp/hc-postgres-{uuid.uuid4().hex[:8]}")
    data, sockets = directory / "data", directory / "sockets"
    for path in (directory, data, sockets):
        path.mkdir(exist_ok=True)
        shutil.chown(path, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])

    def as_postgres(*command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True
        )

    as_postgres(
        str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(directory / "server.log")  # the server must not hold our output pipes open
    as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-s", "stop")
        shutil.rmtree(directory, ignore_errors=True)


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def test_postgresql_on_a_full_disk(tmp_path: Path, capsys: Any) -> None:
    content = write_content(tmp_path / "content", 400)
    with _private_postgres() as admin, _tmpfs("6m", owner="postgres") as disk:
        asyncio.run(_execute(admin, f"CREATE TABLESPACE small LOCATION '{disk}'"))
        asyncio.run(_execute(admin, "CREATE DATABASE content TABLESPACE small"))
        url = admin.rsplit("/", 1)[0] + "/content"
        upgrade(url)
        assert load(url, SEED_DIR).ok
        status, err = _load_until_full(url, content, capsys)
    assert status == 4, err
    assert "the database failed: could not extend file" in err
    assert "No space left on device" in err and "nothing was written" in err
    assert "Traceback" not in err
