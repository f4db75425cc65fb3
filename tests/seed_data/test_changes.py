"""The change outbox: every load appends what it changed, in the load's own transaction."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import load, query

ARTICLE = "magnesium-for-chronic-pain"


def _changes(url: str) -> list[dict[str, object]]:
    return query(
        url, "SELECT entity, entity_id, slug, action, version, tags FROM change ORDER BY id"
    )


def test_a_load_records_each_item_it_writes_once(database_url: str, content_dir: Path) -> None:
    assert load(database_url, content_dir).ok
    first = _changes(database_url)
    articles = query(database_url, "SELECT id, slug FROM article ORDER BY id")
    topics = query(database_url, "SELECT id FROM topic")
    experts = query(database_url, "SELECT id FROM expert")
    assert len(first) == len(articles) + len(topics) + len(experts)
    by_slug = {c["slug"]: c for c in first if c["entity"] == "Article"}
    for article in articles:
        change = by_slug[article["slug"]]
        assert change["action"] == "published"  # the seed's articles are published
        assert change["tags"] == f"Article:{article['id']} list:Article"
        assert change["version"] == 1

    # Loading the same content again changes nothing, and records nothing.
    assert load(database_url, content_dir).ok
    assert _changes(database_url) == first

    path = content_dir / "articles" / f"{ARTICLE}.md"
    path.write_text(path.read_text().replace("Magnesium", "Magnesium (Mg)", 1))
    assert load(database_url, content_dir).ok
    last = _changes(database_url)[len(first) :]
    assert [(c["entity"], c["slug"], c["action"], c["version"]) for c in last] == [
        ("Article", ARTICLE, "updated", 2)
    ]


def test_a_failed_load_records_nothing(database_url: str, content_dir: Path) -> None:
    assert load(database_url, content_dir).ok
    before = _changes(database_url)
    path = content_dir / "articles" / f"{ARTICLE}.md"
    path.write_text(path.read_text().replace("Magnesium", "Magnesium (Mg)", 1))
    (content_dir / "articles" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    assert not load(database_url, content_dir).ok
    assert _changes(database_url) == before


def test_a_draft_saved_again_leaves_every_list_alone(database_url: str, content_dir: Path) -> None:
    path = content_dir / "articles" / f"{ARTICLE}.md"
    text = path.read_text()
    assert "\nstatus: published\n" in text
    path.write_text(text.replace("\nstatus: published\n", "\nstatus: draft\n", 1))
    assert load(database_url, content_dir).ok
    path.write_text(path.read_text().replace("Magnesium", "Magnesium (Mg)", 1))
    assert load(database_url, content_dir).ok
    path.write_text(path.read_text().replace("status: draft\n", "status: published\n", 1))
    assert load(database_url, content_dir).ok
    (article_id,) = [
        r["id"] for r in query(database_url, f"SELECT id FROM article WHERE slug = '{ARTICLE}'")
    ]
    mine = [(c["action"], c["tags"]) for c in _changes(database_url) if c["slug"] == ARTICLE]
    assert mine == [
        ("created", f"Article:{article_id}"),
        ("updated", f"Article:{article_id}"),
        ("published", f"Article:{article_id} list:Article"),
    ]
