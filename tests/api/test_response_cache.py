"""The response cache: hits are the very bytes a fresh execution sends, drafts never get
in, and a change (a mutation, or a seed load in another process) drops exactly the answers
that read what it changed, in every worker, within a second."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.response_cache import MAX_TAG_HEADER, surrogate_headers
from api.services import services_of
from api.settings import ApiSettings
from tests.api.conftest import Api, running_server
from tests.conftest import reachable_redis
from tests.helpers import clear_of_a_rate_window_edge, load, make_key, query

PAIN = "magnesium-for-chronic-pain"
STONES = "magnesium-for-kidney-stones"
PAGE = "query($slug: String!) { article(slug: $slug) { title version review { isOverdue } } }"
LIST = "{ articles(first: 10) { totalCount edges { node { slug title } } } }"
UPDATE = """mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) {
  updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) {
    article { version }
    errors { message }
  }
}"""


def stats_app(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(ApiSettings(database_url=url, query_stats=True, **settings)))


def post(client: TestClient, query: str, variables: Any = None, key: str | None = None) -> Any:
    """The answer (status 200), errors and all, with the cache's `extensions`."""
    answer = Api(client, key).post(query, variables)
    assert answer.status_code == 200, answer.text
    return answer.json()


def hit(body: Any) -> bool | None:
    return body["extensions"].get("cache", {}).get("hit")


def test_a_hit_is_byte_identical_to_a_fresh_execution(seeded: str) -> None:
    params = {"query": PAGE, "variables": json.dumps({"slug": PAIN})}
    with TestClient(create_app(ApiSettings(database_url=seeded))) as cached:
        first = cached.get("/graphql", params=params)
        second = cached.get("/graphql", params=params)
    off = ApiSettings(database_url=seeded, response_cache=False)
    with TestClient(create_app(off)) as uncached:
        fresh = uncached.get("/graphql", params=params)
    assert first.content == second.content == fresh.content
    assert first.headers["etag"] == second.headers["etag"] == fresh.headers["etag"]
    assert second.headers["surrogate-key"] == first.headers["surrogate-key"]


def test_a_hit_runs_no_sql_and_variables_in_any_order_share_it(seeded: str) -> None:
    query = (
        "query($a: Int, $b: Int) "
        "{ articles(first: $a) { totalCount } topics(first: $b) { totalCount } }"
    )
    with stats_app(seeded) as client:
        miss = post(client, query, {"a": 1, "b": 2})
        again = post(client, query, {"b": 2, "a": 1})
        other = post(client, query, {"a": 2, "b": 2})
    assert (hit(miss), hit(again), hit(other)) == (False, True, False)
    assert miss["extensions"]["queryStats"]["sqlStatements"] > 0
    assert again["extensions"]["queryStats"]["sqlStatements"] == 0
    assert again["data"] == miss["data"]


def test_a_preview_key_never_reads_or_fills_the_shared_cache(seeded: str) -> None:
    preview = make_key(seeded, "preview", ["preview"])
    everything = "{ articles(status: [DRAFT, PUBLISHED]) { totalCount } }"
    published = "{ articles { totalCount } }"
    with stats_app(seeded) as client:
        assert hit(post(client, published)) is False
        assert hit(post(client, published)) is True
        keyed = post(client, published, key=preview)
        assert hit(keyed) is None and keyed["extensions"]["queryStats"]["sqlStatements"] > 0
        post(client, everything, key=preview)
        anonymous = client.post("/graphql", json={"query": everything}).json()
        assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _version(client: TestClient, slug: str) -> int:
    return int(post(client, PAGE, {"slug": slug})["data"]["article"]["version"])


def test_a_mutation_drops_exactly_what_read_the_changed_article(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    with stats_app(seeded) as client:
        for slug in (PAIN, STONES):
            post(client, PAGE, {"slug": slug})
        post(client, LIST)
        topic = '{ topic(slug: "magnesium") { name } }'
        post(client, topic)
        assert all(
            hit(post(client, q, v)) is True
            for q, v in (
                (PAGE, {"slug": PAIN}),
                (PAGE, {"slug": STONES}),
                (LIST, None),
                (topic, None),
            )
        )
        changed = post(
            client, UPDATE, {"slug": PAIN, "v": 1, "patch": {"title": "Magnesium and pain"}}, writer
        )
        assert changed["data"]["updateArticle"]["errors"] == []
        # At once in this worker: the page and the list read the article; the other page
        # and the topic did not.
        page = post(client, PAGE, {"slug": PAIN})
        assert (hit(page), page["data"]["article"]["title"]) == (False, "Magnesium and pain")
        listed = post(client, LIST)
        assert hit(listed) is False
        assert "Magnesium and pain" in [
            e["node"]["title"] for e in listed["data"]["articles"]["edges"]
        ]
        assert hit(post(client, PAGE, {"slug": STONES})) is True
        assert hit(post(client, topic)) is True


def test_review_data_expires_when_the_review_falls_due(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    today = dt.datetime.now(dt.UTC).date()
    reviewed = today - dt.timedelta(days=30)
    review = {"reviewer": "linda-rapson", "reviewedAt": str(reviewed), "nextReviewDue": str(today)}
    ttl = 3 * 24 * 3600  # longer than the time to the review falling due
    with stats_app(seeded, response_cache_ttl_s=ttl) as client:
        changed = post(client, UPDATE, {"slug": PAIN, "v": 1, "patch": {"review": review}}, writer)
        assert changed["data"]["updateArticle"]["errors"] == []
        cache = services_of(client.app).response_cache
        now = [time.time()]
        cache.clock = lambda: now[0]
        first = post(client, PAGE, {"slug": PAIN})
        assert first["data"]["article"]["review"]["isOverdue"] is False
        assert hit(post(client, PAGE, {"slug": PAIN})) is True
        # The review is due today: from midnight UTC it is overdue, and the answer is gone.
        midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        now[0] = midnight.timestamp() - 1
        assert hit(post(client, PAGE, {"slug": PAIN})) is True
        now[0] = midnight.timestamp()
        assert hit(post(client, PAGE, {"slug": PAIN})) is False
        # An answer without review data lives until the general TTL.
        post(client, PAGE, {"slug": STONES})
        stored = now[0]
        now[0] = stored + ttl - 1
        assert hit(post(client, PAGE, {"slug": STONES})) is True
        now[0] = stored + ttl
        assert hit(post(client, PAGE, {"slug": STONES})) is False


def _title(base: str, slug: str) -> str:
    """By GET: a repeated GET is answered from its raw query string (the quickest path)."""
    params = urllib.parse.urlencode({"query": PAGE, "variables": json.dumps({"slug": slug})})
    with urllib.request.urlopen(f"{base}/graphql?{params}", timeout=5) as response:
        return str(json.load(response)["data"]["article"]["title"])


def test_a_seed_load_in_another_process_reaches_every_worker_within_a_second(
    seeded: str, content_dir: Path
) -> None:
    """Two uvicorn workers; the loader runs in this process (not the server's)."""
    with running_server(seeded, "--workers", "2", RATE_LIMIT_ANONYMOUS="0") as base:
        old = _title(base, PAIN)
        for _ in range(20):  # fill both workers' caches
            assert _title(base, PAIN) == old
        path = content_dir / "articles" / f"{PAIN}.md"
        path.write_text(path.read_text().replace(old, "Magnesium and chronic pain", 1))
        assert load(seeded, content_dir).ok
        committed = last_old = time.monotonic()
        # Ask for 1.5 s (hundreds of answers, from both workers): the last old answer must
        # come within a second of the commit.
        while time.monotonic() - committed < 1.5:
            if _title(base, PAIN) == old:
                last_old = time.monotonic()
        assert last_old - committed < 1.0, f"old answers for {last_old - committed:.2f} s"
        assert _title(base, PAIN) == "Magnesium and chronic pain"


def test_tag_headers_stay_within_what_cdns_take() -> None:
    few = surrogate_headers({"Article:1", "list:Article"})
    assert few == {"surrogate-key": "Article:1 list:Article", "cache-tag": "Article:1,list:Article"}
    many = surrogate_headers({f"Article:{n}" for n in range(5000)} | {"Topic:1"})
    assert len(many["surrogate-key"]) <= MAX_TAG_HEADER
    assert many["surrogate-key"] == "list:Article list:Topic"


class _Cdn(http.server.BaseHTTPRequestHandler):
    """A CDN's purge endpoint that fails the first purge (503), then accepts."""

    purges: ClassVar[list[tuple[list[str], str, str]]] = []
    failures = 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if _Cdn.failures > 0:
            _Cdn.failures -= 1
            self.send_response(503)
        else:
            _Cdn.purges.append(
                (body["tags"], self.headers["surrogate-key"], self.headers["authorization"])
            )
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def cdn() -> Iterator[str]:
    _Cdn.purges, _Cdn.failures = [], 1
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Cdn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/purge"
    server.shutdown()
    server.server_close()


def test_the_purge_hook_gets_the_changed_tags_and_is_retried(seeded: str, cdn: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    settings = ApiSettings(
        database_url=seeded,
        cdn_purge_url=cdn,
        cdn_purge_headers={"Authorization": "Bearer cdn-token"},
    )
    with TestClient(create_app(settings)) as client:
        article_id = load_id(seeded, PAIN)
        changed = post(client, UPDATE, {"slug": PAIN, "v": 1, "patch": {"title": "New"}}, writer)
        assert changed["data"]["updateArticle"]["errors"] == []
        deadline = time.monotonic() + 5
        while not _Cdn.purges:
            assert time.monotonic() < deadline, "no purge arrived"
            time.sleep(0.05)
    tags = ["list:Article", f"Article:{article_id}"]  # lists first
    assert _Cdn.purges == [(tags, " ".join(tags), "Bearer cdn-token")]
    assert _Cdn.failures == 0  # the first attempt failed, and was retried


def load_id(url: str, slug: str) -> int:
    return int(query(url, "SELECT id FROM article WHERE slug = :slug", slug=slug)[0]["id"])


def test_workers_share_answers_through_redis_and_drop_them_together(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    shared = {"redis_url": reachable_redis(), "redis_prefix": f"t{uuid.uuid4().hex}"}
    with stats_app(seeded, **shared) as one, stats_app(seeded, **shared) as two:
        first = post(one, PAGE, {"slug": PAIN})
        assert hit(first) is False
        other = post(two, PAGE, {"slug": PAIN})  # computed by the first worker
        assert hit(other) is True and other["extensions"]["queryStats"]["sqlStatements"] == 0
        assert other["data"] == first["data"]

        changed = post(one, UPDATE, {"slug": PAIN, "v": 1, "patch": {"title": "Shared"}}, writer)
        assert changed["data"]["updateArticle"]["errors"] == []
        deadline = time.monotonic() + 1.0
        while post(two, PAGE, {"slug": PAIN})["data"]["article"]["title"] != "Shared":
            assert time.monotonic() < deadline, "the second worker still answers the old title"
            time.sleep(0.02)


PUBLISH = 'mutation { publishArticle(slug: "%s") { errors { message } } }'
UNPUBLISH = 'mutation { unpublishArticle(slug: "%s") { errors { message } } }'


def test_a_lookup_that_found_nothing_is_dropped_when_the_item_appears(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    with stats_app(seeded) as client:
        assert (
            post(client, UNPUBLISH % PAIN, key=writer)["data"]["unpublishArticle"]["errors"] == []
        )
        assert post(client, PAGE, {"slug": PAIN})["data"]["article"] is None
        assert hit(post(client, PAGE, {"slug": PAIN})) is True
        assert post(client, PUBLISH % PAIN, key=writer)["data"]["publishArticle"]["errors"] == []
        found = post(client, PAGE, {"slug": PAIN})
        assert (hit(found), found["data"]["article"] is not None) == (False, True)


def test_moving_a_topic_in_the_tree_drops_its_article_lists(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    count = '{ topic(slug: "pain") { articles { totalCount } } }'
    filtered = '{ articles(topic: "pain") { totalCount } }'
    with stats_app(seeded) as client:
        before = [post(client, q)["data"] for q in (count, filtered)]
        assert [hit(post(client, q)) for q in (count, filtered)] == [True, True]
        moved = post(
            client,
            'mutation { updateTopic(slug: "magnesium", expectedVersion: 1, '
            'patch: {parent: "pain"}) { errors { message } } }',
            key=writer,
        )
        assert moved["data"]["updateTopic"]["errors"] == []
        after = [post(client, q) for q in (count, filtered)]
        assert [hit(a) for a in after] == [False, False]
        assert [a["data"] for a in after] != before  # magnesium's articles now count


def test_answers_showing_an_overdue_review_are_still_cached(seeded: str) -> None:
    writer = make_key(seeded, "editor", ["write"])
    review = {"reviewer": "linda-rapson", "reviewedAt": "2024-01-01", "nextReviewDue": "2025-01-01"}
    with stats_app(seeded) as client:
        changed = post(client, UPDATE, {"slug": PAIN, "v": 1, "patch": {"review": review}}, writer)
        assert changed["data"]["updateArticle"]["errors"] == []
        assert post(client, PAGE, {"slug": PAIN})["data"]["article"]["review"]["isOverdue"] is True
        assert hit(post(client, PAGE, {"slug": PAIN})) is True


def test_repeated_gets_still_count_against_the_rate_limit(seeded: str) -> None:
    settings = ApiSettings(database_url=seeded, rate_limit_anonymous=3)
    params = {"query": PAGE, "variables": json.dumps({"slug": PAIN})}
    with TestClient(create_app(settings)) as client:
        clear_of_a_rate_window_edge()
        answers = [client.get("/graphql", params=params) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[1].content == answers[2].content == answers[0].content
    assert answers[2].headers["ratelimit-remaining"] == "0"


def test_a_hit_spends_no_cost_budget(seeded: str) -> None:
    page = {"query": "{ articles(first: 10) { edges { node { title } } } }"}  # costs 60
    other = {"query": "{ articles(first: 10) { edges { node { slug } } } }"}  # costs 60 too
    budgets = {"rate_limit_cost_anonymous": 130, "max_query_cost": 100}
    with TestClient(create_app(ApiSettings(database_url=seeded, **budgets))) as client:
        clear_of_a_rate_window_edge()
        answers = [client.post("/graphql", json=page) for _ in range(4)]
        assert [a.status_code for a in answers] == [200] * 4  # one execution, three hits
        assert answers[0].headers["ratelimit-cost-remaining"] == "70"
        assert client.post("/graphql", json=other).status_code == 200  # 10 left
        third = {"query": "{ articles(first: 10) { edges { node { url } } } }"}
        assert client.post("/graphql", json=third).status_code == 429
