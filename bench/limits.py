"""What the request limits cost an ordinary request: the app with them against the same
app without them (the commit before they came, checked out in a `git worktree`), side by
side in one run.

1. In-process, the time the per-request part of the limits takes on a cached document
   (looking the document up and its cost), and the one-time part (parsing within the token
   limit, measuring, validating with the bounded overlap rule) against parse + validate.
2. For each database (1,000 synthetic articles plus the seed): list-20 and the article page
   sent one after another straight into each app (ASGI, no HTTP server, no load generator
   competing for the 2 CPUs), in interleaved rounds, each in a fresh process; the figure is
   process CPU per request (median of the rounds) and the ratio of the two.
3. With --wrk, the same two apps behind `healthcontent serve`, driven by wrk with 64
   connections (the setting of bench/api_load.py), also interleaved: noisier here.

    .venv/bin/python bench/limits.py [--baseline 9a69850] [--rounds 5] [--requests 200] [--wrk]
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402
    ARTICLE_PAGE,
    LIST_20,
    UNLIMITED,
    _free_port,
    _load,
    _measure,
    _post,
    _wait,
)
from bench.databases import fresh_database  # noqa: E402
from schema.migrate import upgrade  # noqa: E402
from seed_data.synthetic import write_content  # noqa: E402

QUERIES = {
    "list 20": {"query": LIST_20},
    "article page": {"query": ARTICLE_PAGE, "variables": {"slug": "article-7"}},
}
BASELINE = "9a69850"  # the last commit before the request limits


def _server(tree: Path, url: str) -> tuple[subprocess.Popen[bytes], int]:
    """`healthcontent serve` from `tree`. wrk's 64 connections keep it saturated, so requests
    queue for seconds: with the default pool and request timeouts some would be shed with a
    cheap 503, and the two servers would not do the same work (UNLIMITED: neither sheds)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(tree),  # the tree's own packages, not the installed ones
        **UNLIMITED,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(port)
    time.sleep(0.5)
    return process, port


def _micro() -> dict[str, float]:
    """Microseconds per call, best of 5 runs of 2,000 (or 200 for the one-time work)."""
    from graphql import parse, validate

    from api.cost import CostModel
    from api.documents import DocumentCache
    from api.graphql.schema import schema
    from api.limits import Limits

    graphql_schema = schema.graphql_schema
    limits = Limits(
        chars=65536, tokens=1000, depth=15, aliases=30, directives=50, variable_values=10_000
    )
    model = CostModel(graphql_schema)
    out = {}
    for name, payload in QUERIES.items():
        query, variables = payload["query"], payload.get("variables")
        cache = DocumentCache(graphql_schema, size=16, limits=limits, introspection=True)

        def per_request(
            cache: DocumentCache = cache, query: str = query, variables: object = variables
        ) -> None:
            prepared = cache.prepare(query)
            operation = prepared.operation(None)
            assert operation is not None
            prepared.cost(model, operation, variables)  # type: ignore[arg-type]

        def once_with_limits(query: str = query) -> None:
            fresh = DocumentCache(graphql_schema, size=0, limits=limits, introspection=True)
            fresh.prepare(query)

        def once_without(query: str = query) -> None:
            validate(graphql_schema, parse(query))

        for label, function, number in (
            ("per request (cached)", per_request, 2000),
            ("once per document, with limits", once_with_limits, 200),
            ("once per document, parse + validate only", once_without, 200),
        ):
            best = min(_timed(function, number) for _ in range(5))
            out[f"{name}: {label}"] = round(best * 1e6, 1)
    return out


def _timed(function: object, number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        function()  # type: ignore[operator]
    return (time.perf_counter() - started) / number


# Runs in a fresh process with the tree's packages first on the path: CPU per request of
# `requests` requests sent one after another into the app, after `warmup` more.
_SEQUENTIAL = """
import asyncio, json, sys, time
from api.app import create_app
from api.settings import ApiSettings

url, payload = sys.argv[1], json.loads(sys.argv[2])
requests, warmup = int(sys.argv[3]), int(sys.argv[4])
body = json.dumps(payload).encode()
scope = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
    "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
    "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
    "headers": [(b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())],
}


async def main() -> float:
    app = create_app(ApiSettings(database_url=url, rate_limit_anonymous=0))

    async def one() -> None:
        sent, status = False, []

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # a client that stays until its answer

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        assert status == [200], status

    async with app.router.lifespan_context(app):
        for _ in range(warmup):
            await one()
        started = time.process_time()
        for _ in range(requests):
            await one()
        return (time.process_time() - started) / requests * 1000


print(asyncio.run(main()))
"""


@contextmanager
def worktree(commit: str, where: Path) -> Iterator[Path]:
    """`commit` checked out at `where` (a git worktree), removed afterwards."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(where), commit],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False)


def _sequential(
    tree: Path, url: str, payload: dict[str, object], requests: int, warmup: int = 30
) -> float:
    """CPU milliseconds per request of `tree`'s app, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _SEQUENTIAL, url, json.dumps(payload), str(requests), str(warmup)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "RESPONSE_CACHE": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def _compare_sequential(
    database: str, url: str, baseline_tree: Path, args: argparse.Namespace
) -> list[dict[str, object]]:
    trees = {"baseline": baseline_tree, "limits": ROOT}
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for query, payload in QUERIES.items():
            for name, tree in trees.items():
                cpu = _sequential(tree, url, payload, args.requests)
                samples.setdefault((query, name), []).append(cpu)
    rows = []
    for query in QUERIES:
        base, limited = samples[query, "baseline"], samples[query, "limits"]
        ratio = statistics.median(limited) / statistics.median(base)
        rows.append(
            {
                "database": database,
                "query": query,
                "method": "in-process, sequential",
                "baseline_cpu_ms_per_request": statistics.median(base),
                "limits_cpu_ms_per_request": statistics.median(limited),
                "cpu_ratio_limits_over_baseline": round(ratio, 3),
                "baseline_runs": base,
                "limits_runs": limited,
            }
        )
        print(
            f"{database:<10} {query:<12} in-process CPU/request: baseline "
            f"{statistics.median(base):.2f} ms {[round(x, 2) for x in base]}, with limits "
            f"{statistics.median(limited):.2f} ms {[round(x, 2) for x in limited]} "
            f"(ratio {ratio:.3f})",
            flush=True,
        )
    return rows


# Allowed, but as heavy as the cost model lets them be: what one request may cost today.
HEAVIEST = {
    "90 topics, a 1-article connection each (4,730)": (
        "{topics(first:90){edges{node{articles(first:1){edges{node{title}}}}}}}"
    ),
    "30 aliased pages of 100 (4,500)": "{"
    + " ".join(f"a{i}:articles(first:100){{edges{{node{{title}}}}}}" for i in range(30))
    + "}",
    "95 articles, sections and quotes (4,895)": (
        "{articles(first:95){edges{node{sections{html text quotes{text expert{name}}}}}}}"
    ),
    "100 articles, 20 related posts each (4,150)": (
        "{articles(first:100){edges{node{relatedPosts(first:20){title article{slug}}}}}}"
    ),
    "18 searches, 5 results each (4,658)": (
        '{topics(first:18){edges{node{articles(search:"magnesium pain",first:5)'
        "{edges{node{title}}}}}}}"
    ),
    "3 introspections (2,859)": "{"
    + " ".join(
        f"i{i}:__schema{{types{{name fields{{name args{{name type{{name}}}} "
        f"type{{name ofType{{name}}}}}}}}}}"
        for i in range(3)
    )
    + "}",
}


def _heaviest(database: str, url: str) -> list[dict[str, object]]:
    rows = []
    for name, query in HEAVIEST.items():
        cpu = _sequential(ROOT, url, {"query": query}, requests=3, warmup=1)
        rows.append({"database": database, "query": name, "cpu_ms_per_request": round(cpu, 1)})
        print(f"{database:<10} heaviest allowed: {name:<48} {cpu:8.1f} ms CPU", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="per in-process round")
    parser.add_argument("--wrk", action="store_true", help="also compare under wrk")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "limits.json")
    args = parser.parse_args()
    micro = _micro()
    for label, microseconds in micro.items():
        print(f"{label:<60} {microseconds:8.1f} µs", flush=True)
    rows: list[dict[str, object]] = []
    heaviest: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with worktree(args.baseline, workdir / "baseline") as baseline_tree:
            content = write_content(workdir / "content", 1000)
            for database in args.databases.split(","):
                with fresh_database(database, workdir) as url:
                    upgrade(url)
                    asyncio.run(_load(url, content))
                    if database == "postgresql":
                        _analyze(url)  # no autovacuum runs here: plans need statistics
                    rows += _compare_sequential(database, url, baseline_tree, args)
                    heaviest += _heaviest(database, url)
                    if args.wrk:
                        rows += _compare(database, url, baseline_tree, args, workdir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "baseline": args.baseline,
                "rounds": args.rounds,
                "requests_per_round": args.requests,
                "wrk_duration_s": args.duration if args.wrk else None,
                "micro_us": micro,
                "rows": rows,
                "heaviest_allowed": heaviest,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {args.out}")


def _analyze(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    async def go() -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("ANALYZE")
        finally:
            await connection.close()

    asyncio.run(go())


def _compare(
    database: str, url: str, baseline_tree: Path, args: argparse.Namespace, workdir: Path
) -> list[dict[str, object]]:
    servers = {"baseline": _server(baseline_tree, url), "limits": _server(ROOT, url)}
    try:
        for name, (_, port) in servers.items():  # both answer the same data
            body = json.loads(_post(port, QUERIES["list 20"]))
            assert "errors" not in body, (name, body)
        samples: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for query, payload in QUERIES.items():
                for name, (process, port) in servers.items():
                    result = _measure(port, process.pid, payload, args.duration, workdir)
                    samples.setdefault((query, name), []).append(result)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait()
    rows = []
    for query in QUERIES:
        row: dict[str, object] = {"database": database, "query": query, "method": "wrk -c64"}
        for name in servers:
            runs = samples[query, name]
            row[name] = {
                "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
                "req_per_s": statistics.median(r["req_per_s"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "non_2xx": sum(int(r["non_2xx"]) for r in runs),
                "cpu_runs": [r["cpu_ms_per_request"] for r in runs],
            }
        ratio = row["limits"]["cpu_ms_per_request"] / row["baseline"]["cpu_ms_per_request"]  # type: ignore[index]
        row["cpu_ratio_limits_over_baseline"] = round(ratio, 3)
        rows.append(row)
        print(
            f"{database:<10} {query:<12} CPU/request: baseline "
            f"{row['baseline']['cpu_ms_per_request']:.2f} ms, with limits "  # type: ignore[index]
            f"{row['limits']['cpu_ms_per_request']:.2f} ms (ratio {ratio:.3f})",  # type: ignore[index]
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
