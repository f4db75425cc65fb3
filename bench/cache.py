"""The response cache (issue 11): cached GETs against the static ceiling, memory, freshness.

On PostgreSQL (1,000 synthetic articles plus the seed, ANALYZE run):
1. *Throughput.* wrk (64 connections, one worker) sends GETs of list-20 and of the article
   page to the service, its cache warm, and to bench/static_app.py serving the same bytes
   on the same uvicorn; interleaved rounds, medians of req/s and of server CPU per request.
2. *Memory.* One worker's RSS warm, then after filling its cache to RESPONSE_CACHE_BYTES
   with distinct list pages (cursors times page sizes).
3. *Freshness.* Two workers; the time from a commit (a mutation, then a seed load in this
   process) until no answer from either worker is old, sampled continuously.

    .venv/bin/python bench/cache.py [--rounds 3] [--duration 10] [--changes 5]

Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402
    ARTICLE_PAGE,
    CONNECTIONS,
    LIST_20,
    UNLIMITED,
    _cpu_seconds,
    _free_port,
    _load,
    _rss_mb,
    _serve,
    _wait,
)
from bench.databases import fresh_database  # noqa: E402
from bench.limits import _analyze  # noqa: E402
from schema.db import create_engine, open_session  # noqa: E402
from schema.keys import create_key  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402

# Neither server writes a log line per request (static_app runs at --log-level warning).
CACHED = {**UNLIMITED, "RESPONSE_CACHE": "1", "ACCESS_LOG": "0"}
QUERIES = {
    "list 20": {"query": LIST_20},
    "article page": {"query": ARTICLE_PAGE, "variables": json.dumps({"slug": "article-7"})},
}


def _url(port: int, params: dict[str, str]) -> str:
    return f"http://127.0.0.1:{port}/graphql?{urllib.parse.urlencode(params)}"


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as answer:
        return bytes(answer.read())


def _wrk_get(url: str, duration: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    assert errors is None, output
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
    }


def _measured(url: str, pid: int, duration: int) -> dict[str, float]:
    _wrk_get(url, 2)  # warm
    cpu = _cpu_seconds(pid)
    result = _wrk_get(url, duration)
    result["cpu_ms_per_request"] = (_cpu_seconds(pid) - cpu) * 1000 / max(result["requests"], 1)
    return result


def throughput(url: str, workdir: Path, rounds: int, duration: int) -> list[dict[str, object]]:
    port = _free_port()
    server = _serve(["api.cli", "serve", "--port", str(port)], {"DATABASE_URL": url, **CACHED})
    rows: list[dict[str, object]] = []
    try:
        _wait(port)
        for name, params in QUERIES.items():
            service_url = _url(port, params)
            static_file = workdir / "static.json"
            static_file.write_bytes(_get(service_url))
            static_port = _free_port()
            static = _serve(
                ["uvicorn", "bench.static_app:create_app", "--factory", "--port",
                 str(static_port), "--loop", "uvloop", "--http", "httptools", "--log-level",
                 "warning"],
                {"STATIC_RESPONSE_FILE": str(static_file)},
            )  # fmt: skip
            try:
                _wait(static_port)
                runs: dict[str, list[dict[str, float]]] = {"cached": [], "static": []}
                for _ in range(rounds):
                    runs["cached"].append(_measured(service_url, server.pid, duration))
                    runs["static"].append(
                        _measured(_url(static_port, params), static.pid, duration)
                    )
            finally:
                static.terminate()
                static.wait()
            median = {
                kind: {
                    key: round(statistics.median(r[key] for r in samples), 3)
                    for key in ("req_per_s", "cpu_ms_per_request")
                }
                for kind, samples in runs.items()
            }
            row: dict[str, object] = {
                "query": name,
                "cached": median["cached"],
                "static": median["static"],
                "ratio_req_per_s": round(
                    median["cached"]["req_per_s"] / median["static"]["req_per_s"], 3
                ),
                "runs": runs,
            }
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "runs"}), flush=True)
    finally:
        server.terminate()
        server.wait()
    return rows


def memory(url: str) -> dict[str, float]:
    """One worker's RSS warm, and after its cache filled (distinct list pages)."""
    port = _free_port()
    server = _serve(["api.cli", "serve", "--port", str(port)], {"DATABASE_URL": url, **CACHED})
    try:
        _wait(port)
        for params in QUERIES.values():
            for _ in range(200):
                _get(_url(port, params))
        warm = _rss_mb(server.pid)
        cursors: list[str] = []
        after: str | None = None
        walk = (
            "query($after: String) { articles(first: 50, after: $after) "
            "{ pageInfo { hasNextPage } edges { cursor } } }"
        )
        while True:
            page = json.loads(
                _get(_url(port, {"query": walk, "variables": json.dumps({"after": after})}))
            )
            cursors += [edge["cursor"] for edge in page["data"]["articles"]["edges"]]
            if not page["data"]["articles"]["pageInfo"]["hasNextPage"]:
                break
            after = cursors[-1]
        sent = 0
        query = (
            "query($first: Int, $after: String) { articles(first: $first, after: $after) "
            "{ edges { node { slug title summary publishedAt url topics { slug name } } } } }"
        )
        for first in (20, 30, 40, 50, 60):
            for cursor in cursors:
                variables = json.dumps({"first": first, "after": cursor})
                _get(_url(port, {"query": query, "variables": variables}))
                sent += 1
        full = _rss_mb(server.pid)
        return {"warm_rss_mb": warm, "filled_rss_mb": full, "distinct_answers": sent}
    finally:
        server.terminate()
        server.wait()


def _title(port: int) -> str:
    params = {"query": '{ article(slug: "article-7") { title } }'}
    return str(json.loads(_get(_url(port, params)))["data"]["article"]["title"])


def _settle(port: int, old: str, committed: float) -> float:
    """Seconds from `committed` to the last old answer, sampling for 2 s."""
    last_old = committed
    while time.monotonic() - committed < 2.0:
        if _title(port) == old:
            last_old = time.monotonic()
    return last_old - committed


def _write_key(url: str) -> str:
    async def create() -> str:
        engine = create_engine(url)
        try:
            async with open_session(engine, write=True) as session:
                key = await create_key(
                    session, name="bench-editor", scopes=["write"], origins=[], rate_per_minute=None
                )
            return str(key.token)
        finally:
            await engine.dispose()

    return asyncio.run(create())


def freshness(url: str, content: Path, changes: int) -> dict[str, list[float]]:
    port = _free_port()
    server = _serve(
        ["api.cli", "serve", "--port", str(port), "--workers", "2"],
        {"DATABASE_URL": url, **CACHED},
    )
    key = _write_key(url)
    mutation = """mutation($t: String!, $v: Int!) {
      updateArticle(slug: "article-7", expectedVersion: $v, patch: {title: $t}) {
        article { version } errors { message } } }"""
    out: dict[str, list[float]] = {"mutation": [], "seed load": []}
    try:
        _wait(port)
        version = 1
        for n in range(changes):
            old = _title(port)
            for _ in range(50):
                _title(port)  # both workers hold the old answer
            body = json.dumps({"query": mutation, "variables": {"t": f"Title m{n}", "v": version}})
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql",
                data=body.encode(),
                headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
            )
            answer = json.loads(urllib.request.urlopen(request).read())
            committed = time.monotonic()
            version = answer["data"]["updateArticle"]["article"]["version"]
            out["mutation"].append(round(_settle(port, old, committed), 3))
        path = content / "articles" / "article-7.md"
        for n in range(changes):
            old = _title(port)
            for _ in range(50):
                _title(port)
            text = re.sub(
                r"^title: .*$", f"title: Title s{n}", path.read_text(), count=1, flags=re.M
            )
            path.write_text(text)
            asyncio.run(_load(url, content))
            committed = time.monotonic()
            out["seed load"].append(round(_settle(port, old, committed), 3))
        print(json.dumps(out), flush=True)
        return out
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cache.json")
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
                "throughput": throughput(url, workdir, args.rounds, args.duration),
                "memory": memory(url),
            }
            print(json.dumps(result["memory"]), flush=True)
            result["freshness_s"] = freshness(url, content, args.changes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
