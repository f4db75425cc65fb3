"""Rate limits and cost budgets, per address and per key, counted in process or in Redis: in
the headers, refused with 429, and never fooled by a forwarded address."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.conftest import TEST_REDIS_URL, reachable_redis
from tests.helpers import clear_of_a_rate_window_edge, make_key

COUNT = {"query": "{ articles { totalCount } }"}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(autouse=True)
def _clear_of_a_window_edge() -> None:
    clear_of_a_rate_window_edge()


# Each test's Redis keys start with a prefix of its own: tests never see each other's counts,
# and nothing else in that Redis is touched.
_redis_prefix = ""


@pytest.fixture(autouse=True)
def _own_redis_keys() -> Iterator[None]:
    global _redis_prefix
    _redis_prefix = f"hc-test-{uuid.uuid4().hex[:12]}"
    yield
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    with contextlib.suppress(redis.RedisError):
        for key in client.scan_iter(match=f"{_redis_prefix}:*"):
            client.delete(key)
    client.close()


def _client(url: str, **settings: Any) -> TestClient:
    settings.setdefault("redis_prefix", _redis_prefix)
    return TestClient(create_app(ApiSettings(database_url=url, **settings)))


@pytest.fixture(params=["in-process", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "in-process" else reachable_redis()


def test_limits_show_in_headers_and_refuse_with_429(seeded: str, redis_url: str | None) -> None:
    key = make_key(seeded, "partner", rate_per_minute=3)
    with _client(seeded, redis_url=redis_url, rate_limit_anonymous=2) as client:
        answers = [client.post("/graphql", json=COUNT) for _ in range(3)]
        keyed = [client.post("/graphql", json=COUNT, headers=_bearer(key)) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in answers] == ["1", "0", "0"]
    assert {r.headers["ratelimit-limit"] for r in answers} == {"2"}
    assert answers[0].headers["ratelimit-policy"] == "2;w=60"
    refused = answers[2]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["retry-after"] == refused.headers["ratelimit-reset"]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry-after" not in answers[0].headers
    # The key has its own limit (its --rate), counted apart from the address's.
    assert [r.status_code for r in keyed] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-limit"] for r in keyed] == ["3"] * 4


PAGE_OF_10 = {"query": "{ articles(first: 10) { edges { node { title } } } }"}  # costs 60
ONE_ARTICLE = {"query": '{ article(slug: "magnesium-for-chronic-pain") { title } }'}  # costs 1


def test_cost_budgets_show_in_headers_and_refuse_with_429(
    seeded: str, redis_url: str | None
) -> None:
    key = make_key(seeded, "partner")
    budgets = {"rate_limit_cost_anonymous": 130, "rate_limit_cost_key": 100, "max_query_cost": 100}
    # Every query executes (a cached answer spends no budget: tests/api/test_response_cache.py).
    with _client(seeded, redis_url=redis_url, response_cache=False, **budgets) as client:
        answers = [client.post("/graphql", json=PAGE_OF_10) for _ in range(3)]
        cheap = client.post("/graphql", json=ONE_ARTICLE)  # still fits in what is left
        keyed = [client.post("/graphql", json=PAGE_OF_10, headers=_bearer(key)) for _ in range(2)]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["ratelimit-cost-remaining"] for r in answers] == ["70", "10", "10"]
    assert answers[0].headers["ratelimit-cost-limit"] == "130"
    assert answers[0].headers["ratelimit-cost-policy"] == "130;w=60"
    refused = answers[2]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "costs 60" in refused.json()["errors"][0]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # The request limit is counted apart from the cost budget; both are in the headers.
    assert refused.headers["ratelimit-remaining"] == str(120 - 3)
    assert (cheap.status_code, cheap.headers["ratelimit-cost-remaining"]) == (200, "9")
    # The budget is per caller: the key has its own.
    assert [r.status_code for r in keyed] == [200, 429]
    assert keyed[0].headers["ratelimit-cost-limit"] == "100"


def test_a_keys_own_rate_scales_its_cost_budget(seeded: str) -> None:
    fast = make_key(seeded, "fast", rate_per_minute=2400)  # twice RATE_LIMIT_KEY
    slow = make_key(seeded, "slow", rate_per_minute=12)  # a hundredth: one query's worth
    with _client(seeded, response_cache=False) as client:  # each query spends (no hits)
        limits = [
            client.post("/graphql", json=COUNT, headers=_bearer(k)).headers["ratelimit-cost-limit"]
            for k in (fast, slow)
        ]
    assert limits == ["400000", "5000"]


def test_a_budget_smaller_than_one_query_is_refused() -> None:
    with pytest.raises(ValueError, match=r"RATE_LIMIT_COST_ANONYMOUS \(10\) must be at least"):
        ApiSettings(rate_limit_cost_anonymous=10)


def test_rate_limit_anonymous_0_turns_every_anonymous_limit_off(seeded: str) -> None:
    with _client(
        seeded, rate_limit_anonymous=0, max_query_cost=100, rate_limit_cost_anonymous=100
    ) as client:
        answers = [client.post("/graphql", json=PAGE_OF_10) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert not any(h.startswith("ratelimit") for h in answers[0].headers)


def test_a_spoofed_forwarded_for_is_the_same_client(seeded: str) -> None:
    def statuses(**settings: Any) -> list[int]:
        with _client(seeded, rate_limit_anonymous=2, **settings) as client:
            return [
                client.post(
                    "/graphql", json=COUNT, headers={"x-forwarded-for": f"203.0.113.{i}"}
                ).status_code
                for i in range(3)
            ]

    assert statuses() == [200, 200, 429]
    # Behind a proxy it trusts, each forwarded address is a client of its own.
    assert statuses(forwarded_allow_ips=["*"]) == [200, 200, 200]


def test_redis_counts_are_shared_by_every_worker(seeded: str) -> None:
    url = reachable_redis()
    # Two apps with their own processes' state: only Redis connects their counts.
    with (
        _client(seeded, redis_url=url, rate_limit_anonymous=3) as one,
        _client(seeded, redis_url=url, rate_limit_anonymous=3) as two,
    ):
        statuses = [c.post("/graphql", json=COUNT).status_code for c in (one, two, one, two)]
    assert statuses == [200, 200, 200, 429]


def test_a_dead_redis_falls_back_to_counting_in_process(seeded: str) -> None:
    with _client(seeded, redis_url="redis://127.0.0.1:1/0", rate_limit_anonymous=1) as client:
        statuses = [client.post("/graphql", json=COUNT).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_the_in_process_window_rolls_over() -> None:
    from api.ratelimit import LocalLimiter

    now = [120.0]
    limiter = LocalLimiter(clock=lambda: now[0])

    async def hits() -> list[tuple[bool, int]]:
        out = []
        for at in (120.0, 150.5, 179.9, 180.0):
            now[0] = at
            verdict = await limiter.hit("a", 2)
            out.append((verdict.allowed, verdict.reset))
        return out

    assert asyncio.run(hits()) == [(True, 60), (True, 30), (False, 1), (True, 60)]


def test_forwarded_allow_ips_reads_addresses_and_networks(monkeypatch: Any) -> None:
    assert ApiSettings().forwarded_allow_ips == []  # trust no one by default
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.1, 192.168.0.0/16")
    assert ApiSettings().forwarded_allow_ips == ["10.0.0.1", "192.168.0.0/16"]
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "proxy.local")
    with pytest.raises(ValueError, match=re.escape("FORWARDED_ALLOW_IPS: 'proxy.local'")):
        ApiSettings()
