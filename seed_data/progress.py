"""Progress for long loads: a bar on a terminal, one line per stage otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_LABELS = {"prepare": "reading", "write": "writing"}


class ProgressDisplay:
    """Callable as `schema.load_plans.Progress`: (stage, done, total)."""

    def __init__(self, stream: TextIO | None = None, *, min_total: int = 50) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.min_total = min_total
        self.stage: str | None = None
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < self.min_total:
            return
        label = _LABELS.get(stage, stage)
        if stage != self.stage:
            self.finish()
            self.stage, self.started = stage, time.monotonic()
            if not self.tty:
                print(
                    f"{label} {total} {'files' if stage == 'prepare' else 'articles'}",
                    file=self.stream,
                    flush=True,
                )
        if self.tty:
            width = 30
            filled = width * done // max(total, 1)
            rate = done / max(time.monotonic() - self.started, 1e-9)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r{label:<9} [{bar}] {done}/{total} ({rate:,.0f}/s)")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = None
