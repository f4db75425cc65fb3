"""`healthcontent serve`: real uvicorn (uvloop, httptools) answering over a real socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from seed_data import SEED_DIR
from tests.helpers import load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_graphql_over_a_socket(database_url: str) -> None:
    assert load(database_url, SEED_DIR).ok
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                    assert json.load(response) == {"status": "ok", "database": "up"}
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        request = urllib.request.Request(
            f"{base}/graphql",
            data=json.dumps({"query": "{ articles { totalCount } }"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response) == {"data": {"articles": {"totalCount": 2}}}
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
