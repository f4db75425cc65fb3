"""The example operations in examples/: what a front end sends, and what codegen types.

Each file is one named operation, valid against the served schema. Each runs on the seed
through the ASGI app without errors and within the cost limit. Codegen (codegen.ts, pinned
in examples/package.json) turns them into TypeScript with every custom scalar a string.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse, validate
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.schema import schema
from api.settings import ApiSettings
from seed_data import SEED_DIR
from tests.api.conftest import Api
from tests.conftest import unavailable
from tests.helpers import load, make_key

ROOT = Path(__file__).parents[1]
EXAMPLES_DIR = ROOT / "examples"
GENERATED = EXAMPLES_DIR / "generated"
# Never committed: npm's install and codegen's output.
NOT_EXAMPLES = {"node_modules", "generated"}
EXAMPLES = {
    path.stem: path
    for path in sorted(EXAMPLES_DIR.rglob("*.graphql"))
    if not NOT_EXAMPLES & set(path.relative_to(EXAMPLES_DIR).parts)
}

# Realistic variables, from seed_data/: the read examples run anonymously on the seed.
READS: dict[str, dict[str, Any]] = {
    "ArticlePage": {"slug": "magnesium-for-chronic-pain"},
    "ArticleSummary": {"slug": "magnesium-for-chronic-pain"},
    "Magnesium": {},
    "TopicPage": {"slug": "magnesium"},
    "SearchArticles": {"search": "magnesium kidn"},  # the last word matches as a prefix
    "Terms": {"slug": "magnesium-for-kidney-stones"},
    "Changes": {},  # the feed from its start
}
PAGINATION = "ArticlesPage"
# The README's walk-through, in order, with a key that may preview and write.
NEW_SLUG = "magnesium-and-sleep"
EDITS: list[tuple[str, dict[str, Any]]] = [
    (
        "CreateArticle",
        {
            "input": {
                "slug": NEW_SLUG,
                "title": "Magnesium and Sleep",
                "body": "Does magnesium help you sleep?\n\n## What studies say\n\n"
                "Small trials suggest it may.",
                "topics": ["magnesium"],
            }
        },
    ),
    ("ArticlePreview", {"slug": NEW_SLUG}),
    (
        "UpdateArticle",
        {"slug": NEW_SLUG, "expectedVersion": 1, "patch": {"summary": "What the evidence says."}},
    ),
    ("PublishArticle", {"slug": NEW_SLUG, "expectedVersion": 2}),
    ("ArticleRevisions", {"slug": NEW_SLUG}),
]
# Every custom scalar in schema/schema.graphql, which codegen.ts must map to string.
CUSTOM_SCALARS = re.findall(r"^scalar (\w+)$", (ROOT / "schema/schema.graphql").read_text(), re.M)


def _operation(name: str) -> OperationDefinitionNode:
    [operation] = parse(EXAMPLES[name].read_text()).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def _answer(api: Api, name: str, variables: dict[str, Any], **headers: str) -> dict[str, Any]:
    """Run an example; check it answered with data, no errors, and a cost within the limit."""
    response = api.post(EXAMPLES[name].read_text(), variables, **headers)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    cost = body["extensions"]["cost"]
    assert cost["maxQueryCost"] == ApiSettings().max_query_cost
    assert cost["requestedQueryCost"] <= cost["maxQueryCost"], (name, cost)
    for field, value in body["data"].items():
        assert value is not None, f"{name}: {field} is null"
        assert value.get("errors", []) == [], f"{name}: {value['errors']}"  # a payload's
        assert value.get("edges", [None]) != [], f"{name}: {field} is empty"
    return body["data"]


@pytest.fixture
def seeded(database_url: str) -> Iterator[Api]:
    assert load(database_url, SEED_DIR).ok
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:
        yield Api(client)


def test_every_example_runs_in_these_tests() -> None:
    run_here = {*READS, PAGINATION, *(name for name, _ in EDITS)}
    assert set(EXAMPLES) == run_here, "give a new example realistic variables here"


def _fields(name: str) -> set[str]:
    selections = _operation(name).selection_set.selections
    return {s.name.value for s in selections if isinstance(s, FieldNode)}


def _variables(name: str) -> set[str]:
    return {v.variable.name.value for v in _operation(name).variable_definitions}


def test_the_examples_include_a_topic_page_a_search_and_pagination() -> None:
    assert "topic" in _fields("TopicPage") and "slug" in _variables("TopicPage")
    assert "search" in _variables("SearchArticles")
    assert {"topic", "first", "after"} <= _variables(PAGINATION)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_an_example_is_one_named_operation_valid_against_the_served_schema(name: str) -> None:
    document = parse(EXAMPLES[name].read_text())
    assert len(document.definitions) == 1, "one operation per file"
    operation = _operation(name)
    assert operation.name is not None and operation.name.value == name, "named as its file"
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), "PascalCase"
    assert validate(schema.graphql_schema, document) == []


@pytest.mark.parametrize("name", sorted(READS))
def test_a_read_example_answers_on_the_seed(seeded: Api, name: str) -> None:
    _answer(seeded, name, READS[name])


def test_the_pagination_example_gets_the_page_after_a_cursor(seeded: Api) -> None:
    variables = {"topic": "magnesium", "first": 1}
    first = _answer(seeded, PAGINATION, variables)["articles"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"]
    after = {**variables, "after": first["pageInfo"]["endCursor"]}
    second = _answer(seeded, PAGINATION, after)["articles"]
    assert not second["pageInfo"]["hasNextPage"]
    slugs = {page["edges"][0]["node"]["slug"] for page in (first, second)}
    assert slugs == {"magnesium-for-chronic-pain", "magnesium-for-kidney-stones"}


def test_the_edit_examples_create_preview_update_publish_and_list_revisions(
    seeded: Api, database_url: str
) -> None:
    key = make_key(database_url, "newsroom", ["preview", "write"])
    data = {
        name: _answer(seeded, name, variables, authorization=f"Bearer {key}")
        for name, variables in EDITS
    }
    assert data["CreateArticle"]["createArticle"]["article"]["status"] == "DRAFT"
    assert data["ArticlePreview"]["article"]["tableOfContents"] == [{"heading": "What studies say"}]
    assert data["UpdateArticle"]["updateArticle"]["article"] == {"version": 2}
    published = data["PublishArticle"]["publishArticle"]["article"]
    assert (published["status"], published["version"]) == ("PUBLISHED", 3)
    revisions = data["ArticleRevisions"]["article"]["revisions"]
    assert [(r["version"], r["action"]) for r in revisions] == [
        (3, "PUBLISH"),
        (2, "UPDATE"),
        (1, "CREATE"),
    ]


def _npm() -> str:
    """npm, with a Node.js the pinned codegen runs on (20 or newer)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    message = ""
    if npm is None or node is None:
        message = "npm not found"
    else:
        version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        if int(version.strip().lstrip("v").split(".")[0] or 0) < 20:
            message = f"Node.js {version.strip()} is older than 20, which codegen needs"
    if message:
        unavailable(f"{message}: codegen (examples/package.json) cannot be checked")
    assert npm is not None
    return npm


def _run(*command: str) -> None:
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"


def install_examples() -> str:
    """npm, once examples/node_modules holds the pinned packages (codegen, Apollo Client)."""
    npm = _npm()
    # npm ci wipes and reinstalls node_modules (~10 s): skip it when the installed tree is
    # from this very lockfile, as the Makefile does for GraphiQL.
    lock = hashlib.sha256((EXAMPLES_DIR / "package-lock.json").read_bytes()).hexdigest()
    stamp = EXAMPLES_DIR / "node_modules" / ".installed"
    if not stamp.exists() or stamp.read_text() != lock:
        _run(npm, "ci", "--prefix", "examples", "--no-audit", "--no-fund", "--prefer-offline")
        stamp.write_text(lock)
    return npm


def test_codegen_types_every_example_with_string_scalars() -> None:
    npm = install_examples()
    shutil.rmtree(GENERATED, ignore_errors=True)
    _run(npm, "run", "--prefix", "examples", "--silent", "codegen")
    _run(npm, "run", "--prefix", "examples", "--silent", "typecheck")

    generated = (GENERATED / "graphql.ts").read_text()
    assert CUSTOM_SCALARS, "schema/schema.graphql declares custom scalars"
    for scalar in CUSTOM_SCALARS:
        assert f"  {scalar}: {{ input: string; output: string; }}" in generated, scalar
    for name in EXAMPLES:
        kind = _operation(name).operation.value.capitalize()  # Query or Mutation
        assert f"export type {name}{kind} = " in generated
        assert f"export type {name}{kind}Variables = " in generated
        assert f"export const {name}Document = " in generated
    # The scalars as the operations' result types see them.
    results = dict(re.findall(r"^export type (\w+) = (.*);$", generated, re.M))
    assert "jsonLd: string" in results["ArticlePageQuery"]
    assert "reviewedAt: string" in results["ArticlePageQuery"]
    assert "publishedAt?: string | null" in results["TopicPageQuery"]
    assert "changedAt: string" in results["ArticleRevisionsQuery"]
    for name, result in results.items():
        if name.endswith(("Query", "Mutation")) and name not in ("Query", "Mutation"):
            assert not re.search(r"\b(any|unknown)\b", result), (name, result)
