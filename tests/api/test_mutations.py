"""Editorial mutations through HTTP: payload errors, versions, revisions, nothing lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api
from tests.helpers import dump, make_key, query


@pytest.fixture
def editor(seeded: str) -> Iterator[Api]:
    """The newsroom's key: it may write and preview."""
    key = make_key(seeded, "newsroom", ["write", "preview"])
    with TestClient(create_app(ApiSettings(database_url=seeded))) as client:
        yield Api(client, key)


PAYLOAD = "article { slug status version title publishedAt } errors { field code message }"
CREATE = f"mutation($input: ArticleInput!) {{ createArticle(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"""mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) {{
  updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) {{ {PAYLOAD} }}
}}"""
NEW = {
    "slug": "magnesium-and-sleep",
    "title": "Magnesium and Sleep",
    "body": "Intro.\n\n## Evidence\n\nSome trials [@trial] say so, says Dr. Rapson.",
    "topics": ["magnesium", "pain"],
    "quotes": [{"expert": "linda-rapson", "text": "Some trials", "context": "says Rapson"}],
    "references": [{"key": "trial", "title": "A trial", "doi": "10.1000/xyz", "year": 2020}],
    "related": [{"article": "magnesium-for-kidney-stones", "label": "stones"}],
    "review": {"reviewer": "linda-rapson", "reviewedAt": "2026-01-02"},
}


def test_an_article_goes_from_draft_to_published_to_archived(editor: Api) -> None:
    created = editor.data(CREATE, {"input": NEW})["createArticle"]
    assert created["errors"] == []
    assert created["article"] == {
        "slug": "magnesium-and-sleep",
        "status": "DRAFT",
        "version": 1,
        "title": "Magnesium and Sleep",
        "publishedAt": None,
    }
    updated = editor.data(
        UPDATE, {"slug": "magnesium-and-sleep", "v": 1, "patch": {"title": "Sleep"}}
    )["updateArticle"]
    assert updated["article"]["version"] == 2 and updated["article"]["title"] == "Sleep"

    published = editor.data(
        f'mutation {{ publishArticle(slug: "magnesium-and-sleep", expectedVersion: 2) '
        f"{{ {PAYLOAD} }} }}"
    )["publishArticle"]["article"]
    assert published["status"] == "PUBLISHED" and published["publishedAt"] is not None
    public = editor.with_key(None).data(
        '{ article(slug: "magnesium-and-sleep") { title references { key } quotes { text } } }'
    )
    assert public["article"] == {
        "title": "Sleep",
        "references": [{"key": "trial"}],
        "quotes": [{"text": "Some trials"}],
    }
    archived = editor.data(
        f'mutation {{ archiveArticle(slug: "magnesium-and-sleep") {{ {PAYLOAD} }} }}'
    )["archiveArticle"]["article"]
    assert archived["status"] == "ARCHIVED" and archived["version"] == 4
    assert editor.with_key(None).data('{ article(slug: "magnesium-and-sleep") { title } }') == {
        "article": None
    }

    history = editor.data(
        """{ article(slug: "magnesium-and-sleep", preview: true) {
             revisions { version action changedBy title status snapshot } } }"""
    )["article"]["revisions"]
    assert [(r["version"], r["action"], r["changedBy"]) for r in history] == [
        (4, "ARCHIVE", "newsroom"),
        (3, "PUBLISH", "newsroom"),
        (2, "UPDATE", "newsroom"),
        (1, "CREATE", "newsroom"),
    ]
    assert history[-1]["title"] == "Magnesium and Sleep" and history[-1]["status"] == "DRAFT"
    snapshot = json.loads(history[-1]["snapshot"])  # JSONString: JSON in a string
    assert snapshot["quotes"][0]["expert"] == "linda-rapson"
    assert snapshot["review"]["reviewedAt"] == "2026-01-02"


def test_bad_input_gets_field_errors_and_changes_nothing(editor: Api, database_url: str) -> None:
    before = dump(database_url)
    bad = {
        **NEW,
        "slug": "Not A Slug",
        "topics": ["magnesium", "no-such-topic"],
        "quotes": [{"expert": "nobody", "text": "words that are nowhere"}],
        "body": "Cites [@missing].",
        "references": [],
    }
    result = editor.data(CREATE, {"input": bad})["createArticle"]
    assert result["article"] is None
    fields = {(e["field"], e["code"]) for e in result["errors"]}
    assert ("input.slug", "INVALID_INPUT") in fields
    # The slug is wrong, so pydantic stops there; fix it to see the cross-checks.
    result = editor.data(CREATE, {"input": {**bad, "slug": "fine-slug"}})["createArticle"]
    errors = {e["field"]: e for e in result["errors"]}
    assert errors["input.topics[1]"]["message"] == "unknown topic 'no-such-topic'"
    assert errors["input.quotes[0].expert"]["message"] == "quote names missing expert 'nobody'"
    assert errors["input.quotes[0].text"]["message"] == "quote text does not appear in the body"
    assert errors["input.body"]["message"] == "line 1: citation [@missing] names no reference"
    assert {e["code"] for e in result["errors"]} == {"INVALID_INPUT"}

    patch = {
        "title": "",
        "review": {
            "reviewer": "linda-rapson",
            "reviewedAt": "2026-01-02",
            "nextReviewDue": "2025-01-01",
        },
    }
    result = editor.data(UPDATE, {"slug": "magnesium-for-chronic-pain", "v": 1, "patch": patch})[
        "updateArticle"
    ]
    assert result["article"] is None
    assert {e["field"] for e in result["errors"]} == {"patch.title", "patch.review"}
    assert dump(database_url) == before


def test_a_stale_version_is_a_conflict_and_changes_nothing(editor: Api, database_url: str) -> None:
    slug = "magnesium-for-chronic-pain"
    first = editor.data(UPDATE, {"slug": slug, "v": 1, "patch": {"summary": "One."}})
    assert first["updateArticle"]["article"]["version"] == 2
    before = dump(database_url)
    stale = editor.data(UPDATE, {"slug": slug, "v": 1, "patch": {"summary": "Two."}})
    assert stale["updateArticle"]["article"] is None
    [error] = stale["updateArticle"]["errors"]
    assert error["code"] == "VERSION_CONFLICT" and error["field"] == "expectedVersion"
    assert "version 2, not 1" in error["message"]
    assert dump(database_url) == before


def test_unknown_items_renames_and_links_in_use(editor: Api) -> None:
    missing = editor.data(UPDATE, {"slug": "nope", "v": 1, "patch": {"title": "x"}})
    assert missing["updateArticle"]["errors"] == [
        {"field": "slug", "code": "NOT_FOUND", "message": "no article 'nope'"}
    ]
    taken = editor.data(CREATE, {"input": {**NEW, "slug": "magnesium-for-kidney-stones"}})
    assert [e["code"] for e in taken["createArticle"]["errors"]] == ["ALREADY_EXISTS"]
    assert taken["createArticle"]["errors"][0]["field"] == "input.slug"

    in_use = editor.data(
        'mutation { deleteArticle(slug: "magnesium-for-kidney-stones") '
        "{ deletedSlug errors { field code message } } }"
    )["deleteArticle"]
    assert in_use["deletedSlug"] is None
    assert in_use["errors"][0]["code"] == "IN_USE"
    assert "magnesium-for-chronic-pain" in in_use["errors"][0]["message"]

    renamed = editor.data(
        UPDATE, {"slug": "magnesium-for-chronic-pain", "v": 1, "patch": {"slug": "mg-pain"}}
    )["updateArticle"]
    assert renamed["article"]["slug"] == "mg-pain" and renamed["article"]["version"] == 2
    deleted = editor.data(
        'mutation { deleteArticle(slug: "mg-pain", expectedVersion: 2) '
        "{ deletedSlug errors { code } } }"
    )["deleteArticle"]
    assert deleted == {"deletedSlug": "mg-pain", "errors": []}


def test_deleted_articles_keep_their_revisions(editor: Api, database_url: str) -> None:
    editor.data(CREATE, {"input": NEW})
    editor.data('mutation { deleteArticle(slug: "magnesium-and-sleep") { errors { code } } }')
    rows = query(
        database_url,
        "SELECT article_id, version, action, changed_by FROM article_revision "
        "WHERE article_slug = 'magnesium-and-sleep' ORDER BY version",
    )
    assert rows == [
        {"article_id": None, "version": 1, "action": "create", "changed_by": "newsroom"},
        {"article_id": None, "version": 2, "action": "delete", "changed_by": "newsroom"},
    ]


def test_topics_and_experts_are_edited_with_versions(editor: Api) -> None:
    topic = editor.data(
        """mutation { createTopic(input: {slug: "sleep", name: "Sleep", kind: SYMPTOM,
             parent: "pain"}) { topic { slug kind version parent { slug } } errors { field } } }"""
    )["createTopic"]
    assert topic == {
        "topic": {"slug": "sleep", "kind": "SYMPTOM", "version": 1, "parent": {"slug": "pain"}},
        "errors": [],
    }
    cycle = editor.data(
        """mutation { updateTopic(slug: "pain", expectedVersion: 1, patch: {parent: "sleep"})
             { topic { slug } errors { field code message } } }"""
    )["updateTopic"]
    assert cycle["errors"] == [
        {
            "field": "patch.parent",
            "code": "INVALID_INPUT",
            "message": "parent 'sleep' makes a cycle",
        }
    ]
    expert = editor.data(
        """mutation { updateExpert(slug: "linda-rapson", expectedVersion: 1,
             patch: {credentials: "MD", profileUrl: "ftp://x"})
             { expert { version } errors { field } } }"""
    )["updateExpert"]
    assert expert == {"expert": None, "errors": [{"field": "patch.profileUrl"}]}
    expert = editor.data(
        """mutation { updateExpert(slug: "linda-rapson", expectedVersion: 1,
             patch: {credentials: "MD"}) { expert { credentials version } errors { field } } }"""
    )["updateExpert"]
    assert expert == {"expert": {"credentials": "MD", "version": 2}, "errors": []}
    created = editor.data(
        """mutation { createExpert(input: {slug: "ann-lee", name: "Ann Lee"})
             { expert { slug version } errors { field } } }"""
    )["createExpert"]
    assert created == {"expert": {"slug": "ann-lee", "version": 1}, "errors": []}


def test_mutations_need_the_write_scope(editor: Api, database_url: str) -> None:
    before = dump(database_url)
    reader = make_key(database_url, "reader", ["preview"])
    for key in (None, reader):
        body = editor.with_key(key).ask(CREATE, {"input": NEW})
        assert body["data"] == {"createArticle": None}
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert "'write' scope" in error["message"]
    assert dump(database_url) == before


def test_the_seed_loader_records_revisions_too(editor: Api, database_url: str) -> None:
    rows = query(
        database_url,
        "SELECT article_slug, version, action, changed_by FROM article_revision "
        "ORDER BY article_slug",
    )
    assert rows == [
        {"article_slug": s, "version": 1, "action": "load", "changed_by": "seed loader"}
        for s in ("magnesium-for-chronic-pain", "magnesium-for-kidney-stones")
    ]


def test_a_write_key_reads_what_it_writes(editor: Api, database_url: str) -> None:
    writer = editor.with_key(make_key(database_url, "writer", ["write"]))
    created = writer.data(CREATE, {"input": NEW})["createArticle"]
    assert created["article"]["status"] == "DRAFT"
    again = writer.data('{ article(slug: "magnesium-and-sleep", preview: true) { version } }')
    assert again == {"article": {"version": 1}}


def test_a_quote_pinned_to_a_later_section_stays_there(editor: Api) -> None:
    body = "Intro.\n\n## Dosage\n\nTake it at night.\n\n## Evidence\n\nTake it at night."
    pinned = {
        **NEW,
        "body": body,
        "quotes": [{"expert": "linda-rapson", "text": "Take it at night", "section": "evidence"}],
        "references": [],
    }
    assert editor.data(CREATE, {"input": pinned})["createArticle"]["errors"] == []
    editor.data('mutation { publishArticle(slug: "magnesium-and-sleep") { errors { code } } }')
    editor.data(UPDATE, {"slug": "magnesium-and-sleep", "v": 2, "patch": {"title": "T"}})
    quotes = editor.data(
        '{ article(slug: "magnesium-and-sleep") { quotes { section { anchor } } } }'
    )
    assert quotes["article"]["quotes"] == [{"section": {"anchor": "evidence"}}]


def test_clearing_the_publication_date_changes_nothing(editor: Api) -> None:
    slug = "magnesium-for-chronic-pain"
    result = editor.data(UPDATE, {"slug": slug, "v": 1, "patch": {"publishedAt": None}})
    article = result["updateArticle"]["article"]
    assert article["version"] == 1 and article["publishedAt"] is not None


def test_odd_slugs_and_null_arguments_are_answered_not_crashed(editor: Api) -> None:
    for slug in ("a\x00b", "Not A Slug", "x" * 500):
        result = editor.data(UPDATE, {"slug": slug, "v": 1, "patch": {"title": "x"}})
        assert [e["code"] for e in result["updateArticle"]["errors"]] == ["NOT_FOUND"]
        assert editor.data("query($s: String!) { article(slug: $s) { slug } }", {"s": slug}) == {
            "article": None
        }
    body = editor.ask(
        '{ article(slug: "magnesium-for-chronic-pain") { revisions(first: null) { version } } }'
    )
    assert "data" not in body and "Internal" not in str(body)
