"""The bundled seed carries the source article faithfully, as structured data."""

from __future__ import annotations

import json
from pathlib import Path

from seed_data import SEED_DIR
from tests.helpers import load, query

# A copy of shared/seed/000_5e93d3f0d8100229.txt, the page this project was created from.
SOURCE = Path(__file__).resolve().parents[1] / "fixtures" / "seed_page_5e93d3f0d8100229.txt"
CHRONIC_PAIN = "magnesium-for-chronic-pain"
WORKS_FOR = "magnesium-works-for-migraines-fibromyalgia-and-other-forms-of-chronic-pain"


def _article(url: str, slug: str) -> dict:
    [row] = query(url, "SELECT * FROM article WHERE slug = :slug", slug=slug)
    sections = row["sections"]
    row["sections"] = json.loads(sections) if isinstance(sections, str) else sections
    return row


def test_seed_article_has_title_sections_and_no_page_chrome(database_url: str) -> None:
    result = load(database_url, SEED_DIR)
    assert result.ok, result.problems

    article = _article(database_url, CHRONIC_PAIN)
    assert article["title"] == "Magnesium For Chronic Pain: Does it Help?"
    assert article["status"] == "published"
    assert article["published_at"] is not None
    assert [(s["heading"], s["level"], s["anchor"]) for s in article["sections"]] == [
        (None, 0, "introduction"),
        ("Magnesium downgrades pain in the brain", 2, "magnesium-downgrades-pain-in-the-brain"),
        (
            "Magnesium eases pain from tension and spasm",
            2,
            "magnesium-eases-pain-from-tension-and-spasm",
        ),
        (
            "Magnesium works for migraines, fibromyalgia, and other forms of chronic pain",
            2,
            WORKS_FOR,
        ),
    ]
    for chrome in (
        "Close this search box",
        "Get the best of the",
        "Read More",
        "Table of Contents",
    ):
        assert chrome not in article["body_text"]
        assert chrome not in article["body_markdown"]
    assert article["word_count"] > 250
    assert article["reading_time_minutes"] == 2


def test_every_paragraph_of_the_source_is_in_the_body(database_url: str) -> None:
    load(database_url, SEED_DIR)
    body = _article(database_url, CHRONIC_PAIN)["body_text"]
    lines = [line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines()]
    start = lines.index(
        "Chronic pain can be delibilitating and difficult to treat safely, "
        "effectively, and without side-effects that can be worse than the "
        "condition. Magnesium could be a natural alternative or complement to "
        "pharmaceutical treatment of chronic pain. Just how effective is "
        "magnesium at relieving pain, and how does it work?"
    )
    end = lines.index("Get the best of the")
    for line in filter(None, lines[start:end]):
        assert line in body, line


def test_quotes_are_tied_to_dr_rapson_and_their_section(database_url: str) -> None:
    load(database_url, SEED_DIR)
    quotes = query(
        database_url,
        "SELECT q.text, q.context, q.section_anchor, e.slug, e.name, e.honorific, e.specialty, "
        "e.location, e.affiliation, e.bio FROM quote q JOIN expert e ON e.id = q.expert_id "
        "JOIN article a ON a.id = q.article_id WHERE a.slug = :slug ORDER BY q.position",
        slug=CHRONIC_PAIN,
    )
    assert [q["text"] for q in quotes] == [
        "Virtually all of them improve when I put them on magnesium.",
        "The scientific community should take a good hard look at this.",
    ]
    first = quotes[0]
    assert first["context"] == "says Rapson, who runs a busy Toronto pain clinic"
    assert {q["section_anchor"] for q in quotes} == {WORKS_FOR}
    assert (first["honorific"], first["name"]) == ("Dr.", "Linda Rapson")
    assert "pain" in first["specialty"].lower() and "nutrition" in first["specialty"].lower()
    assert first["location"] == "Toronto"
    assert "pain clinic" in first["affiliation"]
    assert "more than 30 years" in first["bio"]


def test_topics_and_the_related_kidney_stones_article(database_url: str) -> None:
    load(database_url, SEED_DIR)
    topics = query(
        database_url,
        "SELECT t.slug, at.is_primary FROM article_topic at JOIN topic t ON t.id = at.topic_id "
        "JOIN article a ON a.id = at.article_id WHERE a.slug = :slug ORDER BY at.position",
        slug=CHRONIC_PAIN,
    )
    slugs = [t["slug"] for t in topics]
    assert {"magnesium", "chronic-pain", "pain", "migraines", "fibromyalgia"} <= set(slugs)
    assert {"raynauds-syndrome", "muscle-cramps"} <= set(slugs)
    assert [t["slug"] for t in topics if t["is_primary"]] == ["magnesium"]
    all_topics = {r["slug"] for r in query(database_url, "SELECT slug FROM topic")}
    assert {"magnesium", "pain", "migraines", "kidney-stones"} <= all_topics

    [link] = query(
        database_url,
        "SELECT l.label, l.url, t.slug, t.title, t.summary FROM related_link l "
        "JOIN article a ON a.id = l.article_id JOIN article t ON t.id = l.target_article_id "
        "WHERE a.slug = :slug",
        slug=CHRONIC_PAIN,
    )
    assert link["title"] == "Magnesium for Kidney Stones"
    assert link["label"] == "kidney stones"
    assert link["url"] is None
    assert link["summary"].startswith(
        "Kidney stones are hard, crystallized mineral deposits that start small and grow in the "
        "kidney. Men are four times more likely to develop kidney stones than women."
    )
    kidney_topics = query(
        database_url,
        "SELECT t.slug FROM article_topic at JOIN topic t ON t.id = at.topic_id "
        "JOIN article a ON a.id = at.article_id WHERE a.slug = 'magnesium-for-kidney-stones'",
    )
    assert {t["slug"] for t in kidney_topics} == {"magnesium", "kidney-stones"}
