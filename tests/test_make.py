"""`make run` as a newcomer types it: the port and host they choose, and URLs that match."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_run_serves_on_the_port_it_is_given(tmp_path: Path) -> None:
    if (ROOT / ".env").exists():  # never in CI's clean clone
        pytest.skip("this checkout's .env configures what `make run` serves: not a newcomer's")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS", "MFLAGS")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'content.db'}"
    # -o: the venv this suite runs in is the one `make` would build; never rebuild it here.
    make = subprocess.Popen(
        ["make", "-s", "-o", ".venv/.installed", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1):
                    break
            except OSError:
                assert make.poll() is None, make.communicate()[0]
                assert time.monotonic() < deadline, "make run did not start serving"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"{base}/graphql",
            data=json.dumps({"query": "{ articles { edges { node { url } } } }"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        output = make.communicate(timeout=20)[0]
    urls = [edge["node"]["url"] for edge in answer["data"]["articles"]["edges"]]
    assert urls and all(url.startswith(f"{base}/articles/") for url in urls)
    assert "12 created, 0 updated, 0 unchanged" in output
