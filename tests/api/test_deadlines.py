"""Deadlines, clients that leave, a full pool, a database that never answers and queries that
fail part-way: the caller gets a prompt answer that says so, and the connection is free again
at once."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from schema.migrate import upgrade
from seed_data import SEED_DIR
from tests.api.conftest import Api, post_json, running_server
from tests.helpers import load, make_key, query, write_lock_held

SLUG = "magnesium-for-kidney-stones"
EDIT = (
    'mutation { updateArticle(slug: "magnesium-for-kidney-stones", expectedVersion: 1, '
    'patch: {summary: "Edited."}) { article { version } } }'
)
TOPICS = {"query": "{ topics { totalCount } }"}


def _version(url: str) -> int:
    return int(query(url, "SELECT version FROM article WHERE slug = :s", s=SLUG)[0]["version"])


def test_a_request_past_its_deadline_is_stopped_and_its_connection_freed(seeded: str) -> None:
    key = {"authorization": f"Bearer {make_key(seeded, 'newsroom', ['write'])}"}
    settings = ApiSettings(database_url=seeded, request_timeout_ms=500, db_pool_size=1)
    with write_lock_held(seeded), TestClient(create_app(settings)) as client:
        started = time.monotonic()
        stopped = client.post("/graphql", json={"query": EDIT}, headers=key)
        took = time.monotonic() - started
        assert stopped.status_code == 503
        assert stopped.json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert "500 ms (REQUEST_TIMEOUT_MS)" in stopped.json()["errors"][0]["message"]
        assert 0.45 < took < 1.5
        # The pool has one connection: the stopped edit must have given it back.
        started = time.monotonic()
        answer = client.post("/graphql", json=TOPICS)
        assert answer.status_code == 200 and answer.json()["data"]["topics"]["totalCount"] > 0
        assert time.monotonic() - started < 1.5
    assert _version(seeded) == 1  # the stopped edit never happened


@contextmanager
def _article_table_locked(url: str) -> Iterator[None]:
    """An ACCESS EXCLUSIVE lock on `article` (PostgreSQL): every read of it waits."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        async def go() -> None:
            connection = await asyncpg.connect(url)
            try:
                async with connection.transaction():
                    await connection.execute("LOCK TABLE article IN ACCESS EXCLUSIVE MODE")
                    locked.set()
                    await asyncio.to_thread(release.wait, 30)
            finally:
                await connection.close()

        asyncio.run(go())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        holder.join()


def _waiting_statements(url: str) -> int:
    """API statements waiting for a lock on the server (the test's own lock holder is not)."""
    rows = query(
        url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'",
    )
    return int(rows[0]["n"])


def _eventually(condition: Any, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _seeded_postgres(postgres: Any) -> str:
    url = str(postgres.create())
    upgrade(url)
    assert load(url, SEED_DIR).ok
    return url


def test_postgresql_stops_the_statement_of_a_stopped_request(postgres: Any) -> None:
    url = _seeded_postgres(postgres)
    settings = ApiSettings(database_url=url, request_timeout_ms=500, db_pool_size=1)
    with _article_table_locked(url), TestClient(create_app(settings)) as client:
        stopped = client.post("/graphql", json={"query": "{ articles { totalCount } }"})
        assert stopped.json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert client.post("/graphql", json=TOPICS).status_code == 200
        # The server was told too: nothing of the API still waits on the lock.
        assert _eventually(lambda: _waiting_statements(url) == 0)


def test_work_left_running_by_a_failed_field_is_stopped_too(postgres: Any) -> None:
    """A field that fails (here FORBIDDEN, on a non-null field) ends the answer at once, while
    its sibling still waits on the database: the sibling is stopped, not waited for."""
    url = _seeded_postgres(postgres)
    settings = ApiSettings(database_url=url, statement_timeout_ms=20_000)
    query = "{ b: articles { totalCount } a: articles(status: [DRAFT]) { totalCount } }"
    with _article_table_locked(url), TestClient(create_app(settings)) as client:
        started = time.monotonic()
        answer = client.post("/graphql", json={"query": query})
        assert time.monotonic() - started < 1.5
        assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert _eventually(lambda: _waiting_statements(url) == 0)


def test_a_client_that_leaves_cancels_its_request(seeded: str) -> None:
    key = make_key(seeded, "newsroom", ["write"])
    body = json.dumps({"query": EDIT}).encode()
    with (
        running_server(seeded, REQUEST_TIMEOUT_MS="20000", DB_POOL_SIZE="1") as base,
        write_lock_held(seeded) as release,
    ):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(
                b"POST /graphql HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
                + f"authorization: Bearer {key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            time.sleep(0.5)  # the edit is waiting for the write lock; the client goes
        time.sleep(0.5)
        release.set()
        # The server answers others (its one connection is free again)...
        assert _eventually(lambda: post_json(f"{base}/graphql", TOPICS)[0] == 200, within=5)
    # ...and the edit, cancelled while it waited, never happened.
    assert _version(seeded) == 1


def test_a_full_pool_is_a_prompt_503(postgres: Any) -> None:
    """Slow queries hold every connection (here: reads waiting on a locked table); another
    request waits DB_POOL_TIMEOUT_MS for one, not 30 s."""
    url = _seeded_postgres(postgres)
    settings = ApiSettings(
        database_url=url, db_pool_size=1, db_pool_timeout_ms=300, request_timeout_ms=3000
    )
    with (
        _article_table_locked(url),
        TestClient(create_app(settings)) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        articles = {"query": "{ articles { totalCount } }"}
        waiting = pool.submit(client.post, "/graphql", json=articles)
        time.sleep(0.5)
        started = time.monotonic()
        busy = client.post("/graphql", json=TOPICS)
        assert time.monotonic() - started < 1.5
        assert busy.status_code == 503, busy.text
        assert busy.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "300 ms (DB_POOL_TIMEOUT_MS)" in busy.json()["errors"][0]["message"]
        assert busy.headers["retry-after"] == "1"
        assert waiting.result().json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"


@contextmanager
def _silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def test_a_database_that_never_answers_gives_prompt_503s() -> None:
    with _silent_server() as port:
        settings = ApiSettings(
            database_url=f"postgresql://postgres@127.0.0.1:{port}/content",
            db_connect_timeout_ms=500,
        )
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "database": "down"}
            assert time.monotonic() - started < 1.5
            started = time.monotonic()
            answer = client.post("/graphql", json={"query": "{ articles { totalCount } }"})
            assert time.monotonic() - started < 1.5
            assert answer.status_code == 503
            error = answer.json()["errors"][0]
            assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE"
            assert "500 ms, DB_CONNECT_TIMEOUT_MS" in error["message"]
            assert client.get("/healthz").status_code == 200  # the process itself is fine


# `c` fails (relatedPosts(first: 1000) is refused) and nulls the whole answer at once,
# while `b`'s loaders are still fetching.
FAILS_EARLY = """{ b: articles(first: 5) { edges { node { topics { name
    articles(first: 3) { edges { node { experts { name } } } } } experts { name } } } }
  c: articles(first: 2) { edges { node { relatedPosts(first: 1000) { title } } } } }"""


def test_a_failed_field_leaves_no_task_behind(big_api: Any) -> None:
    client = big_api.client

    def tasks() -> int:
        return len(asyncio.all_tasks())

    before = client.portal.call(tasks)
    for _ in range(8):  # each costs about 2,000: 8 fit in a minute's budget
        body = client.post("/graphql", json={"query": FAILS_EARLY}).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert _eventually(lambda: client.portal.call(tasks) <= before, within=2)


def test_the_time_a_body_takes_to_arrive_is_not_the_requests(seeded: str) -> None:
    """A slow upload (here 1.2 s, over a 500 ms deadline) is the client's time: the request
    still has its whole deadline once the body is in."""
    body = json.dumps({"query": "{ articles { totalCount } }", "pad": "x" * 4000}).encode()
    with running_server(seeded, REQUEST_TIMEOUT_MS="500") as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                b"POST /graphql HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            )
            for start in range(0, len(body), 1024):
                client.sendall(body[start : start + 1024])
                time.sleep(0.3)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"totalCount":2' in answer


def test_a_connection_that_died_since_its_last_use_costs_no_request_an_error(
    postgres: Any,
) -> None:
    # A restart or failover within the idle check's window (IDLE_PING_S) leaves the pool a
    # dead connection; the read that finds it dead runs once more, on a new one.
    url = _seeded_postgres(postgres)
    settings = ApiSettings(database_url=url, db_pool_size=1)
    with TestClient(create_app(settings)) as client:
        article = {
            "query": '{ article(slug: "magnesium-for-chronic-pain") { title topics { slug } } }'
        }
        first = client.post("/graphql", json=article)
        assert first.status_code == 200 and "errors" not in first.json()
        ended = query(
            url,
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert ended[0]["n"] >= 1
        again = client.post("/graphql", json=article)
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        listed = client.post("/graphql", json={"query": "{ articles { totalCount } }"})
        assert listed.json()["data"] == {"articles": {"totalCount": 2}}


def test_a_read_whose_connection_dies_twice_leaves_the_request_able_to_read(
    postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's topics-and-references read loses its connection on both tries: that read
    # fails, but no later read of the request finds a broken session (the fields load alone).
    from schema import lookups

    url = _seeded_postgres(postgres)
    real = lookups.topics_and_references_of_articles

    async def dies(*, session: Any, article_ids: Any) -> Any:
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return await real(session=session, article_ids=article_ids)

    page = {
        "query": '{ article(slug: "magnesium-for-chronic-pain") '
        "{ title topics { slug } references { key } quotes { text } } }"
    }
    with TestClient(create_app(ApiSettings(database_url=url))) as client:
        expected = client.post("/graphql", json=page).json()
        monkeypatch.setattr(lookups, "topics_and_references_of_articles", dies)
        answer = client.post("/graphql", json=page)
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected and "errors" not in expected


# relatedPosts(first: 50) fails (at most 20) and nulls the whole list while its siblings'
# loaders are still running.
FAILING = """{ articles(first: 20) { edges { node { slug relatedPosts(first: 50) { title }
  references { title } topics { name } quotes { text } } } } }"""


def test_a_burst_of_failing_queries_leaks_no_connection(big_api: Api, database_url: str) -> None:
    app = create_app(ApiSettings(database_url=database_url, db_pool_size=3, rate_limit_anonymous=0))
    with TestClient(app) as client:

        def fail() -> int:
            return client.post("/graphql", json={"query": FAILING}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda _: fail(), range(40))) == {200}

        # With 3 connections, one leaked per failure would have exhausted the pool long ago.
        assert client.get("/readyz").json() == {"status": "ok", "database": "up"}
        ok = client.post("/graphql", json={"query": "{ articles(first: 1) { totalCount } }"})
        assert ok.json()["data"]["articles"]["totalCount"] == 62
