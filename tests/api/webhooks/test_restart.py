"""No delivery is lost across a restart: real `healthcontent serve` processes, one killed
(SIGKILL) in the middle of an attempt, with a change made while none runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.api.webhooks.conftest import add_webhook, deliveries
from tests.api.webhooks.receiver import Receiver
from tests.helpers import load

ARTICLE = "magnesium-for-chronic-pain"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(database_url: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`healthcontent serve` in an empty folder, once it answers /readyz."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "1",
        "WEBHOOKS_POLL_MS": "50",
        "WEBHOOKS_TIMEOUT_MS": "1000",  # a lease: 1 s + 1 s to close + 1 s + 1 s to log
        "WEBHOOKS_RETRY_SCALE": "0.0001",
    }
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        break
                except OSError:
                    assert server.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.1)
            yield server
        finally:
            if server.poll() is None:
                server.terminate()
            server.wait(timeout=15)


def _edit(content: Path, old: str, new: str) -> None:
    path = content / "articles" / f"{ARTICLE}.md"
    path.write_text(path.read_text().replace(old, new, 1))


def test_a_delivery_survives_a_killed_server_and_changes_made_while_down(
    database_url: str, content_dir: Path
) -> None:
    assert load(database_url, content_dir).ok
    with Receiver() as receiver:
        receiver.secret = add_webhook(receiver.url(), database_url, "article.updated").secret
        receiver.plan = [("hang", 4.0)]  # the first attempt never gets its answer
        with serving(database_url) as first:
            _edit(content_dir, "Magnesium", "Magnesium (Mg)")
            assert load(database_url, content_dir).ok
            receiver.wait("the first attempt", lambda: len(receiver.received) == 1)
            first.send_signal(signal.SIGKILL)  # in the middle of it
            first.wait(timeout=10)

        # Written while no server runs: only the outbox knows of it.
        _edit(content_dir, "Magnesium (Mg)", "Magnesium (Mg²⁺)")
        assert load(database_url, content_dir).ok
        assert len(deliveries(database_url)) == 1

        with serving(database_url, "--workers", "2"):
            receiver.wait("both updates", lambda: len(receiver.seen) == 2, timeout=30)
            deadline = time.monotonic() + 10
            while {d["status"] for d in deliveries(database_url)} != {"delivered"}:
                assert time.monotonic() < deadline, deliveries(database_url)
                time.sleep(0.1)

    assert receiver.rejected == []
    versions = sorted(p["data"]["version"] for p in receiver.seen.values())
    assert versions == [2, 3]
    # The killed attempt was sent again with its message id: three requests, two messages.
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 3 and len(set(ids)) == 2 and ids[0] in ids[1:]
    assert [d["attempts"] for d in deliveries(database_url)] == [2, 1]
