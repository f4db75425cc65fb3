"""Seed-loader throughput: articles per second on SQLite and PostgreSQL.

Generates N synthetic articles of realistic size (bench/synthetic.py: ~1,000 words, 3 topics,
1 quote, 3 references), then for each database and each repeat: a fresh migrated database, a
first load (everything created), and a second load of the same files (everything unchanged).
Prints a table and saves the figures to bench/results/seed_load.json.

    .venv/bin/python bench/seed_load.py [--articles 5000] [--repeat 3] \
        [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402
from schema.db import create_engine  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data.loader import load_paths  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402


def _cpu_seconds() -> float:
    # This process only: big loads prepare files in workers forked from a fork server, which
    # are not our children, so their CPU time is not visible here.
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


async def _timed_load(url: str, content: Path) -> tuple[float, float, dict]:
    engine = create_engine(url)
    try:
        cpu, start = _cpu_seconds(), time.perf_counter()
        result = await load_paths(engine=engine, paths=[content])
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
    finally:
        await engine.dispose()
    if not result.ok:
        raise SystemExit("load failed:\n" + "\n".join(result.problems[:20]))
    return wall, cpu, result.counts["articles"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "seed_load.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"generating {args.articles} synthetic articles...", flush=True)
        content = write_content(workdir / "content", args.articles)
        words = sum(len(p.read_text().split()) for p in (content / "articles").glob("*.md"))
        figures = []
        for kind in args.databases.split(","):
            for run in range(1, args.repeat + 1):
                with fresh_database(kind, workdir) as url:
                    upgrade(url)
                    first = asyncio.run(_timed_load(url, content))
                    second = asyncio.run(_timed_load(url, content))
                assert first[2]["created"] == args.articles, first[2]
                assert second[2]["unchanged"] == args.articles, second[2]
                row = {
                    "database": kind,
                    "run": run,
                    "first_load_s": round(first[0], 3),
                    "first_load_main_process_cpu_s": round(first[1], 3),
                    "first_load_articles_per_s": round(args.articles / first[0]),
                    "rerun_s": round(second[0], 3),
                    "rerun_articles_per_s": round(args.articles / second[0]),
                }
                figures.append(row)
                print(
                    f"{kind:<10} run {run}: first load {row['first_load_articles_per_s']:>5} "
                    f"articles/s ({first[0]:.2f} s wall, {first[1]:.2f} s main-process CPU), "
                    f"unchanged re-run {row['rerun_articles_per_s']:>5} articles/s",
                    flush=True,
                )

    summary = {}
    print(f"\nmedian of {args.repeat} runs, {args.articles} articles:")
    print("| database | first load (articles/s) | unchanged re-run (articles/s) |")
    print("|---|---|---|")
    for kind in args.databases.split(","):
        rows = [f for f in figures if f["database"] == kind]
        first = statistics.median(r["first_load_articles_per_s"] for r in rows)
        rerun = statistics.median(r["rerun_articles_per_s"] for r in rows)
        summary[kind] = {"first_load_articles_per_s": first, "rerun_articles_per_s": rerun}
        print(f"| {kind} | {first:.0f} | {rerun:.0f} |")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "articles": args.articles,
                "avg_words_per_file": round(words / args.articles),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "date": time.strftime("%Y-%m-%d"),
                "summary": summary,
                "runs": figures,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
