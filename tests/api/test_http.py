"""GraphQL over HTTP as the specification and common clients expect it."""

from __future__ import annotations

import json

from tests.api.conftest import Api

QUERY = '{ article(slug: "magnesium-for-kidney-stones") { __typename title } }'
GRAPHQL_RESPONSE = "application/graphql-response+json"


def test_post_json(api: Api) -> None:
    response = api.post(QUERY)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["article"]["title"] == "Magnesium for Kidney Stones"
    assert "errors" not in response.json()
    assert response.headers["x-request-id"]


def test_the_newer_media_type_when_asked_for(api: Api) -> None:
    response = api.post(QUERY, accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


def test_get_query_with_variables_and_operation_name(api: Api) -> None:
    response = api.client.get(
        "/graphql",
        params={
            "query": "query A($s: String!) { article(slug: $s) { title } } query B { __typename }",
            "variables": json.dumps({"s": "magnesium-for-kidney-stones"}),
            "operationName": "A",
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"article": {"title": "Magnesium for Kidney Stones"}}


def test_a_mutation_over_get_is_405_with_allow_post(api: Api) -> None:
    response = api.client.get("/graphql", params={"query": "mutation { __typename }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_request_errors_are_400_under_the_new_media_type_200_under_json(api: Api) -> None:
    bad = "{ article(slug: 1) { nope } }"

    new = api.post(bad, accept=GRAPHQL_RESPONSE)
    legacy = api.post(bad, accept="application/json")

    assert new.status_code == 400 and "data" not in new.json()
    assert legacy.status_code == 200 and legacy.json()["errors"]


def test_unacceptable_accept_is_406_and_unsupported_content_type_415(api: Api) -> None:
    assert api.post(QUERY, accept="text/csv").status_code == 406
    response = api.client.post(
        "/graphql", content=QUERY, headers={"content-type": "application/graphql"}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["errors"][0]["message"]


def test_malformed_requests_are_4xx_with_a_clear_message(api: Api) -> None:
    cases = {
        b"{not json": "not valid JSON",
        b'[{"query": "{ __typename }"}]': "batched requests",
        b'{"query": 5}': "`query` must be a string",
        b'{"query": "{ __typename }", "variables": [1]}': "`variables` must be an object",
        b'{"variables": {}}': "no `query`",
        b'"just a string"': "JSON object",
    }
    for body, message in cases.items():
        response = api.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert message in response.json()["errors"][0]["message"], body
    get = api.client.get("/graphql", params={"query": "{ __typename }", "variables": "{bad"})
    assert get.status_code == 400


def test_page_size_over_the_maximum_names_the_maximum(api: Api) -> None:
    body = api.post("{ articles(first: 101) { totalCount } }").json()

    [error] = body["errors"]
    assert "at most 100" in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {"status": "ok", "database": "up"}


def test_query_stats_in_extensions_when_enabled(api: Api) -> None:
    stats = api.post(QUERY).json()["extensions"]["queryStats"]

    assert stats["sqlStatements"] == 1
    assert stats["durationMs"] > 0


def test_get_queries_are_cacheable_and_revalidate_by_etag(database_url: str) -> None:
    from starlette.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(ApiSettings(database_url=database_url, cache_max_age=120))
    with TestClient(app) as client:
        params = {"query": QUERY}
        first = client.get("/graphql", params=params)
        again = client.get(
            "/graphql", params=params, headers={"if-none-match": first.headers["etag"]}
        )
        posted = client.post("/graphql", json=params)
        failed = client.get("/graphql", params={"query": "{ articles(first: 500) { totalCount } }"})

    assert first.headers["cache-control"] == "public, max-age=120, stale-while-revalidate=30"
    assert again.status_code == 304 and again.content == b""
    assert posted.headers["cache-control"] == "no-store"
    assert failed.headers["cache-control"] == "no-store"


def test_failed_gets_are_not_cacheable_and_etags_follow_the_media_type(database_url: str) -> None:
    from starlette.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(ApiSettings(database_url=database_url))
    with TestClient(app) as client:
        invalid = client.get("/graphql", params={"query": "{ nope }"})
        as_json = client.get(
            "/graphql", params={"query": QUERY}, headers={"accept": "application/json"}
        )
        as_new = client.get(
            "/graphql", params={"query": QUERY}, headers={"accept": GRAPHQL_RESPONSE}
        )
        weak = client.get(
            "/graphql",
            params={"query": QUERY},
            headers={"accept": "application/json", "if-none-match": f"W/{as_json.headers['etag']}"},
        )
        other = client.get(
            "/graphql",
            params={"query": QUERY},
            headers={"accept": GRAPHQL_RESPONSE, "if-none-match": as_json.headers["etag"]},
        )

    assert invalid.headers["cache-control"] == "no-store"
    assert as_json.headers["etag"] != as_new.headers["etag"]
    assert weak.status_code == 304
    assert other.status_code == 200  # another representation's ETag does not validate this one


def test_status_codes_for_request_errors_and_field_errors(api: Api) -> None:
    coercion = api.post("query($n: Int) { articles(first: $n) { totalCount } }", {"n": "x"},
                        accept=GRAPHQL_RESPONSE)  # fmt: skip
    nulled_root = api.post("{ articles(first: -1) { totalCount } }", accept=GRAPHQL_RESPONSE)

    assert coercion.status_code == 400 and "data" not in coercion.json()
    assert nulled_root.status_code == 200 and nulled_root.json()["data"] is None


def test_malformed_requests_answer_in_the_accepted_media_type(api: Api) -> None:
    response = api.client.post(
        "/graphql",
        content=b"{",
        headers={"content-type": "application/json", "accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")


def test_empty_operation_name_means_none_and_q0_means_not_that_type(api: Api) -> None:
    response = api.client.get(
        "/graphql",
        params={"query": "{ __typename }", "operationName": ""},
        headers={"accept": f"{GRAPHQL_RESPONSE};q=0, application/json"},
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["content-type"].startswith("application/json")


def test_head_is_answered_like_get(api: Api) -> None:
    response = api.client.head("/graphql", params={"query": "{ __typename }"})

    assert response.status_code == 200
