"""API throughput under load: wrk, 64 connections, against the real server and a static ceiling.

For SQLite and PostgreSQL: 1,000 synthetic articles (bench/synthetic.py) plus the seed are
loaded, `healthcontent serve` runs one uvicorn worker (uvloop, httptools), and wrk drives the
article-page query, the list-20 query, a topic page and a search (the last two are the
README's examples/TopicPage.graphql and SearchArticles.graphql). Next to it, in the same
run, bench/static_app.py serves the very same response bytes: the ceiling for this stack.
Prints a table and saves bench/results/api_load.json. Needs wrk (`apt-get install wrk`).

    .venv/bin/python bench/api_load.py [--duration 10] [--databases sqlite,postgresql]
    .venv/bin/python bench/api_load.py --scale 100000   # the large-database cases (bench/scale.py)
    .venv/bin/python bench/api_load.py --soak 100000    # one worker's RSS across 100,000 requests
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402
from schema.db import create_engine  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data import SEED_DIR  # noqa: E402
from seed_data.loader import load_paths  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402

CONNECTIONS = 64
# One client at 64 connections is far over the anonymous rate and cost limits, and the queue
# of requests it keeps up would pass the pool and request timeouts: the engine is measured
# (every request executes: no response cache).
UNLIMITED = {
    "RATE_LIMIT_ANONYMOUS": "0",
    "RESPONSE_CACHE": "0",
    "DB_POOL_TIMEOUT_MS": "600000",
    "REQUEST_TIMEOUT_MS": "600000",
}
ARTICLE_PAGE = """query ArticlePage($slug: String!) { article(slug: $slug) {
  id slug title summary readingTimeMinutes url publishedAt body(format: HTML)
  tableOfContents { anchor heading level }
  sections { anchor heading level html quotes { text context expert { name } } }
  topics { slug name kind } quotes { text context expert { name honorific specialty } }
  experts { name } relatedPosts(first: 3) { title url excerpt label article { slug } }
  review { reviewedAt } references { number key title doi } jsonLd } }"""
LIST_20 = """query List { articles(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { slug title summary readingTimeMinutes publishedAt topics { slug name } } } } }"""
_EXAMPLES = ROOT / "examples"
QUERIES = {
    "article page": {"query": ARTICLE_PAGE, "variables": {"slug": "article-7"}},
    "list 20": {"query": LIST_20},
    # The README's own operations: a topic's page (subtopics included) and a search.
    "topic page": {
        "query": (_EXAMPLES / "TopicPage.graphql").read_text(),
        "variables": {"slug": "topic-3"},
    },
    "search": {
        "query": (_EXAMPLES / "SearchArticles.graphql").read_text(),
        "variables": {"search": "magnesium pain", "first": 20},
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, payload: dict) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def _wait(port: int, path: str = "/healthz") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(port: int, payload: dict, duration: int, workdir: Path) -> dict:
    script = workdir / "post.lua"
    body = json.dumps(payload).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    output = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s", "--latency",
         "-s", str(script),
         f"http://127.0.0.1:{port}/graphql"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": requests,
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency_ms("50%"),
        "p99_ms": latency_ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def _measure(port: int, pid: int, payload: dict, duration: int, workdir: Path) -> dict:
    _wrk(port, payload, 2, workdir)  # warm up: caches, connections, JIT-free but still
    cpu = _cpu_seconds(pid)
    result = _wrk(port, payload, duration, workdir)
    result["cpu_ms_per_request"] = round(
        (_cpu_seconds(pid) - cpu) * 1000 / max(result["requests"], 1), 3
    )
    result["rss_mb"] = _rss_mb(pid)
    return result


def _soak(total: int, workdir: Path) -> None:
    """RSS of one worker (PostgreSQL) every ~10% of `total` list-20 and page requests."""
    content = write_content(workdir / "content", 1000)
    with fresh_database("postgresql", workdir) as url:
        upgrade(url)
        asyncio.run(_load(url, content))
        port = _free_port()
        env = {"DATABASE_URL": url, **UNLIMITED}
        server = _serve(["api.cli", "serve", "--port", str(port)], env)
        samples = []
        try:
            _wait(port)
            done, step = 0, max(total // 10, 1)
            samples.append({"requests": 0, "rss_mb": _rss_mb(server.pid)})
            while done < total:
                for name in ("list 20", "article page"):
                    # Runs of 5 s until this step's share of requests is done.
                    target = done + step // 2
                    while done < target:
                        ran = _wrk(port, QUERIES[name], 5, workdir)["requests"]
                        if ran == 0 or server.poll() is not None:
                            raise SystemExit(f"the server stopped answering after {done}")
                        done += ran
                samples.append({"requests": done, "rss_mb": _rss_mb(server.pid)})
                print(json.dumps(samples[-1]), flush=True)
        finally:
            server.terminate()
            server.wait()
    out = ROOT / "bench" / "results" / "soak.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "samples": samples}, indent=2))
    print(f"saved {out}")


async def _load(url: str, content: Path) -> None:
    engine = create_engine(url)
    try:
        result = await load_paths(engine=engine, paths=[content, SEED_DIR])
        assert result.ok, result.problems[:5]
    finally:
        await engine.dispose()


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT, env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _statements(port: int, payload: dict) -> int:
    body = json.loads(_post(port, payload))
    assert "errors" not in body, body
    return int(body["extensions"]["queryStats"]["sqlStatements"])


def _scale(total: int, repeat: int) -> None:
    from bench import scale

    with tempfile.TemporaryDirectory() as tmp:
        result = scale.run(total, repeat, Path(tmp))
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"scale_{total}.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), **result}, indent=2) + "\n")
    print(f"saved {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_load.json")
    parser.add_argument(
        "--scale", type=int, help="instead: the large-database cases at this many articles"
    )
    parser.add_argument("--repeat", type=int, default=30, help="with --scale: calls per case")
    parser.add_argument(
        "--soak", type=int, help="instead: RSS of one worker across this many requests"
    )
    args = parser.parse_args()
    if args.soak:
        with tempfile.TemporaryDirectory() as tmp:
            _soak(args.soak, Path(tmp))
        return
    if args.scale:
        _scale(args.scale, args.repeat)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        content = write_content(workdir / "content", 1000)
        for database in args.databases.split(","):
            with fresh_database(database, workdir) as url:
                upgrade(url)
                asyncio.run(_load(url, content))
                for name, payload in QUERIES.items():
                    # Statements per request from a server with QUERY_STATS on (not timed).
                    port = _free_port()
                    env = {"DATABASE_URL": url, "QUERY_STATS": "1", **UNLIMITED}
                    probe = _serve(["api.cli", "serve", "--port", str(port)], env)
                    try:
                        _wait(port)
                        statements = _statements(port, payload)
                    finally:
                        probe.terminate()
                        probe.wait()
                    port = _free_port()
                    server = _serve(["api.cli", "serve", "--port", str(port)],
                                    {"DATABASE_URL": url, **UNLIMITED})  # fmt: skip
                    static_file = workdir / "static.json"
                    try:
                        _wait(port)
                        # The ceiling serves exactly the bytes this server answers with.
                        static_file.write_bytes(_post(port, payload))
                        api = _measure(port, server.pid, payload, args.duration, workdir)
                    finally:
                        server.terminate()
                        server.wait()
                    port = _free_port()
                    static = _serve(
                        ["uvicorn", "bench.static_app:create_app", "--factory", "--port",
                         str(port), "--loop", "uvloop", "--http", "httptools", "--log-level",
                         "warning"],
                        {"STATIC_RESPONSE_FILE": str(static_file)},
                    )  # fmt: skip
                    try:
                        _wait(port)
                        ceiling = _measure(port, static.pid, payload, args.duration, workdir)
                    finally:
                        static.terminate()
                        static.wait()
                    row = {
                        "database": database,
                        "query": name,
                        "response_bytes": len(static_file.read_bytes()),
                        "sql_statements": statements,
                        "api": api,
                        "static_ceiling": ceiling,
                    }
                    rows.append(row)
                    print(
                        f"{database:<10} {name:<12} {api['req_per_s']:>7.0f} req/s "
                        f"p50 {api['p50_ms']:.1f} ms p99 {api['p99_ms']:.1f} ms "
                        f"{api['cpu_ms_per_request']:.2f} ms CPU/req {statements} SQL "
                        f"{api['rss_mb']:.0f} MB | "
                        f"static {ceiling['req_per_s']:.0f} req/s "
                        f"({ceiling['cpu_ms_per_request']:.2f} ms CPU/req)",
                        flush=True,
                    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "cpus": os.cpu_count(),
                "connections": CONNECTIONS,
                "duration_s": args.duration,
                "articles": 1002,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
