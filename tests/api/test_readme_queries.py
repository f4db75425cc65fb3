"""Every GraphQL document in the README is valid and costs well under the default limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

from api.cost import CostModel
from api.graphql.schema import schema
from api.limits import measure
from api.settings import ApiSettings

README = (Path(__file__).parents[2] / "README.md").read_text()


def _documents() -> list[str]:
    blocks = re.findall(r"```graphql\n(.*?)```", README, re.S)
    # curl examples: the JSON after -d, whose "query" is a document.
    payloads = re.findall(r"-d '(\{.*?\})'", README, re.S)
    return blocks + [json.loads(p)["query"] for p in payloads]


DOCUMENTS = _documents()


def test_the_readme_has_documents() -> None:
    assert len(DOCUMENTS) >= 7


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_readme_document_is_valid_and_cheap(document: str) -> None:
    settings = ApiSettings()
    tree = parse(document)
    assert validate(schema.graphql_schema, tree) == []
    shape = measure(tree)
    assert shape.depth <= settings.max_query_depth and shape.aliases <= settings.max_query_aliases
    model = CostModel(schema.graphql_schema)
    for operation in (d for d in tree.definitions if isinstance(d, OperationDefinitionNode)):
        cost = model.cost(tree, operation, shape.fragment_order, {})
        assert cost <= settings.max_query_cost // 10, (operation.name, cost)
