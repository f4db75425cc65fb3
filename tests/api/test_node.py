"""`node(id:)`: every kind fetched again by its global id; an id that names nothing is null,
never an error, and never spoils the good ids asked for beside it."""

from __future__ import annotations

import base64

from tests.api.conftest import Api

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
IDS = "query($slug: String!) { article(slug: $slug) { id quotes { id expert { id } } } }"


def test_node_fetches_every_kind_again_by_global_id(api: Api) -> None:
    page = api.data(IDS, {"slug": "magnesium-for-chronic-pain"})["article"]
    ids = [page["id"], page["quotes"][0]["id"], page["quotes"][0]["expert"]["id"]]

    kinds = [api.data(NODE, {"id": node_id})["node"]["__typename"] for node_id in ids]

    assert kinds == ["Article", "Quote", "Expert"]
    assert api.data(NODE, {"id": base64.b64encode(b"Article:999").decode()}) == {"node": None}


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
