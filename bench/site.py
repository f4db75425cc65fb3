"""The site (issue 12): server CPU per request for the article page, its card, a topic's feed
and the sitemap, from the response cache and made afresh, next to the GraphQL GET that reads
the same article.

On PostgreSQL (1,000 synthetic articles plus the seed, ANALYZE run), one worker with the
response cache and one without; wrk (64 connections) sends each URL to each in turn,
interleaved rounds, medians of req/s and of server CPU per request.

    .venv/bin/python bench/site.py [--rounds 3] [--duration 5]

Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import ARTICLE_PAGE, UNLIMITED, _free_port, _serve, _wait  # noqa: E402
from bench.cache import _load, _measured, _url  # noqa: E402
from bench.databases import fresh_database  # noqa: E402
from bench.limits import _analyze  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402

PATHS = {
    "article page (HTML)": "/articles/article-7",
    "embed card": "/embed/articles/article-7",
    "topic feed (Atom, 50 entries)": "/feeds/topics/topic-3.atom",
    "sitemap (1,000+ URLs)": "/sitemap.xml",
}


def run(url: str, rounds: int, duration: int) -> list[dict[str, object]]:
    servers = {}
    for name, cache in (("cached", "1"), ("uncached", "0")):
        port = _free_port()
        env = {**UNLIMITED, "DATABASE_URL": url, "RESPONSE_CACHE": cache, "ACCESS_LOG": "0"}
        servers[name] = (port, _serve(["api.cli", "serve", "--port", str(port)], env))
    try:
        for port, _ in servers.values():
            _wait(port)
        targets = {
            **PATHS,
            "GraphQL GET, same article": _url(
                0, {"query": ARTICLE_PAGE, "variables": json.dumps({"slug": "article-7"})}
            ).split(":0", 1)[1],
        }
        runs: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(rounds):
            for target, path in targets.items():
                for name, (port, server) in servers.items():
                    sample = _measured(f"http://127.0.0.1:{port}{path}", server.pid, duration)
                    runs.setdefault((target, name), []).append(sample)
        rows: list[dict[str, object]] = []
        for target in targets:
            row: dict[str, object] = {"url": target}
            for name in servers:
                samples = runs[(target, name)]
                row[name] = {
                    key: round(statistics.median(s[key] for s in samples), 3)
                    for key in ("req_per_s", "cpu_ms_per_request")
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
        return rows
    finally:
        for _, server in servers.values():
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "site.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        content = write_content(workdir / "content", 1000)
        with fresh_database("postgresql", workdir) as url:
            upgrade(url)
            asyncio.run(_load(url, content))
            _analyze(url)
            result = {
                "date": time.strftime("%Y-%m-%d"),
                "rows": run(url, args.rounds, args.duration),
            }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
