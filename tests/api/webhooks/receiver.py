"""A real webhook endpoint for the tests: an HTTP server in a thread that verifies each
delivery with the `standardwebhooks` package (an implementation independent of ours),
de-duplicates on `webhook-id`, and answers with the statuses a test plans."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """`plan` holds what to do with the next requests, in order: a status to answer, or
    ("hang", seconds) to wait that long first and then answer 200. Past the plan: 200."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.plan: list[int | tuple[str, float]] = []
        self.seen: dict[str, Any] = {}  # webhook-id -> payload: what a receiver acts on once
        self.rejected: list[str] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.changed:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    step = receiver.plan.pop(0) if receiver.plan else 200
                    receiver.changed.notify_all()
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = 200
                if step == 200:
                    receiver.accept(dict(self.headers.items()), body)
                try:
                    self.send_response(step)
                    if 300 <= step < 400:
                        self.send_header("location", "/elsewhere")
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (killed mid-attempt)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def accept(self, headers: dict[str, str], body: bytes) -> None:
        """Verify, then act once per message id, as a partner's endpoint should."""
        if self.secret is None:
            return
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            with self.changed:
                self.rejected.append(str(exc))
            return
        with self.changed:
            message_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
            self.seen.setdefault(message_id, payload)
            self.changed.notify_all()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, what: str, condition: Any, timeout: float = 20) -> None:
        """Wait until `condition()` holds (checked whenever a request comes in)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}: {self.summary()}"
                self.changed.wait(min(left, 0.1))

    def summary(self) -> str:
        return json.dumps(
            [(r.headers.get("webhook-id"), r.body.decode()[:120]) for r in self.received]
        )
