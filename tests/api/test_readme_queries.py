"""Every GraphQL document in the README is valid, costs well under the default limit, and is
made of named operations that are the files in examples/ (what codegen reads)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, print_ast, validate

from api.cost import CostModel
from api.graphql.schema import schema
from api.limits import measure
from api.settings import ApiSettings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
EXAMPLES = ROOT / "examples"


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


def _operations(document: str) -> list[OperationDefinitionNode]:
    tree = parse(document)
    return [d for d in tree.definitions if isinstance(d, OperationDefinitionNode)]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_readme_operation_is_named_and_is_the_example_of_that_name(document: str) -> None:
    for operation in _operations(document):
        # Codegen refuses anonymous operations next to others, and front ends need names.
        assert operation.name is not None, f"name this operation: {print_ast(operation)}"
        example = EXAMPLES / f"{operation.name.value}.graphql"
        assert example.exists(), f"add {example.relative_to(ROOT)}"
        [same] = _operations(example.read_text())
        # Printed without comments or layout: the same fields, arguments and variables.
        assert print_ast(operation) == print_ast(same), f"the README and {example.name} differ"
