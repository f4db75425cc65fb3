"""Inputs a reviewer used to break the API: each must get a clear answer, never a 5xx-class
"Internal server error"."""

from __future__ import annotations

import base64

import orjson

from tests.api.conftest import Api

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_node_ids_that_name_nothing_are_null(api: Api) -> None:
    for bad in [
        _b64("Nope:1"),
        _b64("Query:1"),
        _b64("PageInfo:1"),
        _b64("Article:²"),
        _b64("Article:abc"),
        _b64("Article:99999999999999999999"),
        _b64("Article:2147483648"),
        "not base64!!",
        "",
    ]:
        assert api.data(NODE, {"id": bad}) == {"node": None}, bad


def test_a_bad_id_does_not_spoil_a_good_one_in_the_same_batch(api: Api) -> None:
    query = "query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }"

    data = api.data(query, {"a": _b64("Article:1"), "b": _b64("Article:99999999999999999999")})

    assert data["a"] == {"id": _b64("Article:1")} and data["b"] is None


def _cursor(payload: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


def test_forged_cursors_are_bad_input(api: Api) -> None:
    query = """query($after: String, $order: ArticleOrder) {
      articles(after: $after, orderBy: $order) { totalCount } }"""
    topics = "query($after: String) { topics(after: $after) { totalCount } }"
    cases = [
        (query, ["newest"], "NEWEST"),
        (query, ["newest", 5, 1], "NEWEST"),
        (query, ["newest", "garbage", 1], "NEWEST"),
        (query, ["newest", "2026-01-01T00:00:00+00:00", 1, 2], "NEWEST"),
        (query, ["newest", "2026-01-01T00:00:00", 1], "NEWEST"),
        (query, ["title", "A", 2**40], "TITLE"),
        (topics, ["topic", [1], 1], None),
        (topics, ["topic", 5, "x"], None),
    ]
    for text, payload, order in cases:
        body = api.post(text, {"after": _cursor(payload), "order": order}).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (payload, error)
        assert error["extensions"]["argument"] == "after"


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


def test_first_zero_still_says_whether_there_is_more(api: Api) -> None:
    page = api.data(
        "{ articles(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage } } }"
    )

    assert page["articles"] == {"totalCount": 2, "edges": [], "pageInfo": {"hasNextPage": True}}


def test_related_posts_in_a_list_do_not_grow_with_the_page(big_api: Api) -> None:
    query = (
        "query($first: Int) { articles(first: $first) { edges { node { slug "
        "relatedPosts(first: 3) { title } } } } }"
    )

    assert big_api.statements(query, {"first": 5}) == big_api.statements(query, {"first": 50})
