"""The read engine against an earlier commit: CPU per request and PostgreSQL round trips.

For each database (1,000 synthetic articles plus the seed; ANALYZE on PostgreSQL), list-20
and the article page are sent one after another straight into each tree's app (ASGI, no
HTTP server, no load generator competing for the 2 CPUs), in interleaved rounds, each in a
fresh process: process CPU per request, median of the rounds. On PostgreSQL, round trips per
request are counted at asyncpg's API (statements, BEGIN/COMMIT/ROLLBACK, pings).

    .venv/bin/python bench/engine.py [--baseline 9f6f8ab] [--rounds 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import _load  # noqa: E402
from bench.databases import fresh_database  # noqa: E402
from bench.limits import QUERIES, _analyze, _sequential, worktree  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402

BASELINE = "9f6f8ab"  # the last commit before this engine work

# Run in the tree under test: counts asyncpg calls that each cost one round trip.
_ROUND_TRIPS = r"""
import asyncio, json, sys
import asyncpg, asyncpg.prepared_stmt, asyncpg.transaction
counts = {"n": 0}
def count(cls, name):
    original = getattr(cls, name)
    async def counted(self, *args, **kwargs):
        counts["n"] += 1
        return await original(self, *args, **kwargs)
    setattr(cls, name, counted)
count(asyncpg.prepared_stmt.PreparedStatement, "fetch")
count(asyncpg.connection.Connection, "prepare")
count(asyncpg.connection.Connection, "fetchrow")
for name in ("start", "commit", "rollback"):
    count(asyncpg.transaction.Transaction, name)
from starlette.testclient import TestClient
from api.app import create_app
from api.settings import ApiSettings
url, payload = sys.argv[1], json.loads(sys.argv[2])
with TestClient(create_app(ApiSettings(database_url=url, rate_limit_anonymous=0))) as client:
    for _ in range(5):
        assert client.post("/graphql", json=payload).status_code == 200
    counts["n"] = 0
    for _ in range(10):
        client.post("/graphql", json=payload)
print(counts["n"] / 10)
"""


def _round_trips(tree: Path, url: str, payload: dict[str, object]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIPS, url, json.dumps(payload)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "RESPONSE_CACHE": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "engine.json")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with worktree(args.baseline, workdir / "baseline") as baseline:
            trees = {"baseline": baseline, "now": ROOT}
            content = write_content(workdir / "content", 1000)
            for database in args.databases.split(","):
                with fresh_database(database, workdir) as url:
                    upgrade(url)
                    asyncio.run(_load(url, content))
                    if database == "postgresql":
                        _analyze(url)
                    samples: dict[tuple[str, str], list[float]] = {}
                    for _ in range(args.rounds):
                        for query, payload in QUERIES.items():
                            for name, tree in trees.items():
                                cpu = _sequential(tree, url, payload, args.requests)
                                samples.setdefault((query, name), []).append(cpu)
                    for query, payload in QUERIES.items():
                        before, now = samples[query, "baseline"], samples[query, "now"]
                        row: dict[str, object] = {
                            "database": database,
                            "query": query,
                            "baseline_cpu_ms": round(statistics.median(before), 2),
                            "now_cpu_ms": round(statistics.median(now), 2),
                            "ratio": round(statistics.median(now) / statistics.median(before), 3),
                            "baseline_runs": [round(x, 2) for x in before],
                            "now_runs": [round(x, 2) for x in now],
                        }
                        if database == "postgresql":
                            row["baseline_round_trips"] = _round_trips(baseline, url, payload)
                            row["now_round_trips"] = _round_trips(ROOT, url, payload)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "baseline": args.baseline,
                "rounds": args.rounds,
                "requests_per_round": args.requests,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
