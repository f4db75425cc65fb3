"""Bad content: every problem reported as file:line, nothing written.

One test per kind of bad input. Each starts from a valid copy of the seed content, breaks one
thing, and checks the exact file and line reported and that the database did not change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seed_data.cli import main as seed
from tests.helpers import dump, load, query

ARTICLE = "articles/magnesium-for-chronic-pain.md"


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(url: str, content: Path) -> list[str]:
    """Load, expect failure with the database unchanged, return problems relative to content."""
    before = dump(url)
    result = load(url, content)
    assert not result.ok
    assert dump(url) == before
    return [p.replace(f"{content.resolve()}/", "") for p in result.problems]


@pytest.fixture
def seeded(database_url: str, content_dir: Path) -> str:
    """The database already holds the seed: a failed load must leave exactly that."""
    assert load(database_url, content_dir).ok
    return database_url


def test_yaml_syntax_error_in_front_matter(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "status: published", "status: [published")
    line = _line_of(path, "status: [published")

    [problem] = _problems(seeded, content_dir)

    assert problem.startswith(f"{ARTICLE}:")
    assert "invalid YAML" in problem
    reported = int(problem.split(":")[1])
    assert line <= reported <= line + 2  # the parser notices at or just after the bad line


def test_yaml_syntax_error_in_topics_file(seeded: str, content_dir: Path) -> None:
    _replace(content_dir / "topics.yaml", "  name: Pain\n", "  name: Pain\n    kind: : x\n")
    line = _line_of(content_dir / "topics.yaml", "kind: : x")

    [problem] = _problems(seeded, content_dir)

    assert problem.startswith(f"topics.yaml:{line}: invalid YAML")


def test_missing_front_matter(seeded: str, content_dir: Path) -> None:
    path = content_dir / "articles" / "no-front-matter.md"
    path.write_text("Just a body.\n")

    assert _problems(seeded, content_dir) == [
        "articles/no-front-matter.md:1: missing front matter: the file must start with ---"
    ]


def test_missing_required_field(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, 'title: "Magnesium For Chronic Pain: Does it Help?"\n', "")

    assert _problems(seeded, content_dir) == [f"{ARTICLE}:2: title: is required"]


def test_wrong_type_and_bad_value(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "status: published", "status: live")
    status_line = _line_of(path, "status: live")
    _replace(content_dir / "topics.yaml", "kind: supplement", "kind: [supplement]")
    kind_line = _line_of(content_dir / "topics.yaml", "kind: [supplement]")

    problems = _problems(seeded, content_dir)

    assert len(problems) == 2
    assert problems[0].startswith(f"{ARTICLE}:{status_line}: status: Input should be 'draft'")
    assert problems[1].startswith(f"topics.yaml:{kind_line}: kind: Input should be")


def test_unknown_field_is_a_typo_not_silently_dropped(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "primary_topic: magnesium", "primary_topic: magnesium\nsumary: typo")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, 'sumary')}: sumary: is not a known field (check its spelling)"
    ]


def test_bad_slug(seeded: str, content_dir: Path) -> None:
    _replace(content_dir / "experts.yaml", "slug: linda-rapson", "slug: Linda Rapson")
    line = _line_of(content_dir / "experts.yaml", "slug: Linda Rapson")

    problems = _problems(seeded, content_dir)

    assert (
        f"experts.yaml:{line}: slug: must be a slug: lowercase letters, digits and single "
        "hyphens" in problems
    )
    # The article quoting her is not blamed a second time for the same mistake.
    assert not [p for p in problems if "missing expert" in p]


def test_unknown_topic_slug(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "  - fibromyalgia\n", "  - fibromyalgya\n")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, '- fibromyalgya')}: topics[4]: unknown topic 'fibromyalgya'"
    ]


def test_quote_naming_a_missing_expert(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "  - expert: linda-rapson\n", "  - expert: linda-rapsen\n")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, 'linda-rapsen')}: quotes[0].expert: quote names missing "
        "expert 'linda-rapsen'"
    ]


def test_related_link_to_missing_article(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "article: magnesium-for-kidney-stones", "article: magnesium-for-gallstones")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, 'gallstones')}: related[0].article: related link to missing "
        "article 'magnesium-for-gallstones'"
    ]


def test_duplicate_slugs_name_both_places(seeded: str, content_dir: Path) -> None:
    copy = content_dir / "articles" / "copy.md"
    copy.write_text(
        "---\nslug: magnesium-for-kidney-stones\ntitle: Copy\nstatus: draft\n---\nBody.\n"
    )

    # Its slug comes from the file name, so the problem points at its front matter.
    title_line = _line_of(content_dir / "articles/magnesium-for-kidney-stones.md", "title:")
    assert _problems(seeded, content_dir) == [
        f"articles/magnesium-for-kidney-stones.md:{title_line}: slug: duplicate slug "
        "'magnesium-for-kidney-stones' (first at articles/copy.md:2)"
    ]


def test_duplicate_topic_slug_in_yaml(seeded: str, content_dir: Path) -> None:
    topics = content_dir / "topics.yaml"
    topics.write_text(topics.read_text() + "\n- slug: pain\n  name: Pain again\n")
    first = _line_of(topics, "slug: pain")
    second = len(topics.read_text().splitlines()) - 1

    assert _problems(seeded, content_dir) == [
        f"topics.yaml:{second}: slug: duplicate slug 'pain' (first at topics.yaml:{first})"
    ]


def test_duplicate_yaml_key(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "status: published", "status: published\nstatus: draft")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, 'status: draft')}: duplicate key 'status'"
    ]


def test_quote_text_not_in_the_body(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "text: Virtually all of them improve", "text: Nearly all of them improve")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, 'Nearly all')}: quotes[0].text: quote text does not appear "
        "in section 'magnesium-works-for-migraines-fibromyalgia-and-other-forms-of-chronic-pain'"
    ]


def test_citation_of_a_missing_reference_points_at_the_body_line(
    seeded: str, content_dir: Path
) -> None:
    path = content_dir / ARTICLE
    _replace(path, "called “NMDA.”", "called “NMDA.” [@nmda-review]")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, '[@nmda-review]')}: citation [@nmda-review] names no reference"
    ]


def test_topic_parent_unknown_and_cycle(seeded: str, content_dir: Path) -> None:
    topics = content_dir / "topics.yaml"
    _replace(topics, "  parent: chronic-pain\n", "  parent: chronic-pian\n")
    _replace(topics, "  kind: symptom\n", "  kind: symptom\n  parent: migraines\n")

    problems = _problems(seeded, content_dir)

    assert (
        f"topics.yaml:{_line_of(topics, 'chronic-pian')}: parent: unknown topic "
        "'chronic-pian'" in problems
    )
    cycles = [p for p in problems if "makes a cycle" in p]
    assert cycles and all(p.startswith("topics.yaml:") for p in cycles)


def test_every_problem_in_every_file_is_reported_and_exit_is_nonzero(
    seeded: str, content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _replace(content_dir / ARTICLE, "status: published", "status: live")
    _replace(content_dir / "experts.yaml", "name: Linda Rapson", "name: ''")
    (content_dir / "articles" / "broken.md").write_text("---\ntitle: [\n---\n")
    before = dump(seeded)

    code = seed([str(content_dir), "--database-url", seeded])  # python -m seed_data ...
    err = capsys.readouterr().err

    assert code == 1
    lines = err.strip().splitlines()
    assert lines[-1] == "3 problems found; nothing was written."
    assert {line.split(":")[0].rsplit("/", 2)[-1] for line in lines[:-1]} == {
        "broken.md",
        "experts.yaml",
        "magnesium-for-chronic-pain.md",
    }
    assert dump(seeded) == before


def test_over_long_values_are_field_errors_not_database_errors(
    seeded: str, content_dir: Path
) -> None:
    # SQLite would store these; PostgreSQL would refuse them mid-load. Either way they must be
    # caught with everything else, before anything is written.
    path = content_dir / ARTICLE
    _replace(path, "    label: kidney stones", "    label: " + "k" * 101)
    topics = content_dir / "topics.yaml"
    _replace(topics, "- slug: pain\n", f"- slug: {'p' * 121}\n")

    problems = _problems(seeded, content_dir)

    assert (
        f"{ARTICLE}:{_line_of(path, 'label: kkk')}: related[0].label: String should have "
        "at most 100 characters" in problems
    )
    assert (
        f"topics.yaml:{_line_of(topics, 'slug: ppp')}: slug: String should have at most "
        "120 characters" in problems
    )


def test_a_very_long_heading_gets_a_bounded_anchor_and_loads(
    database_url: str, content_dir: Path
) -> None:
    heading = "Why " + "magnesium and pain " * 20
    article = content_dir / "articles" / "long-heading.md"
    article.write_text(
        "---\ntitle: Long\nstatus: draft\nquotes:\n  - expert: linda-rapson\n"
        "    text: It works.\n---\n"
        f"## {heading}\n\nShe said “It works.”\n",
        encoding="utf-8",
    )

    result = load(database_url, content_dir)

    assert result.ok, result.problems
    [quote] = query(database_url, "SELECT section_anchor FROM quote WHERE text = 'It works.'")
    assert quote["section_anchor"].startswith("why-magnesium-and-pain-")
    assert len(quote["section_anchor"]) <= 100


def test_the_same_quote_or_related_link_twice(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(
        path,
        "related:\n  - article: magnesium-for-kidney-stones\n",
        "related:\n  - article: magnesium-for-kidney-stones\n"
        "  - article: magnesium-for-kidney-stones\n",
    )
    _replace(
        path,
        "quotes:\n",
        "quotes:\n  - expert: linda-rapson\n    text: Virtually all of them improve when I put "
        "them on magnesium\n",
    )
    text = path.read_text().splitlines()
    second_link = len(text) - text[::-1].index("  - article: magnesium-for-kidney-stones")
    second_quote = [n for n, line in enumerate(text, 1) if line == "  - expert: linda-rapson"][1]

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{second_quote}: quotes[1]: the same quote by the same expert is already listed",
        f"{ARTICLE}:{second_link}: related[1]: 'magnesium-for-kidney-stones' is already a related "
        "link of this article",
    ]


def test_a_file_that_is_not_utf8_names_the_line(seeded: str, content_dir: Path) -> None:
    path = content_dir / "articles" / "latin1.md"
    path.write_bytes("---\ntitle: Caf\xe9\n---\nBody.\n".encode("latin-1"))

    assert _problems(seeded, content_dir) == [
        "articles/latin1.md:2: not UTF-8 text (byte 0xe9); save it as UTF-8"
    ]


def test_nul_and_out_of_range_dates_are_field_errors(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, 'title: "Magnesium For Chronic', 'title: "Mag\\0nesium For Chronic')
    _replace(
        path, "status: published", "status: published\npublished_at: 0001-01-01T00:30:00+01:00"
    )

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:2: title: contains a NUL character (\\x00)",
        f"{ARTICLE}:{_line_of(path, 'published_at')}: published_at: is out of range once "
        "converted to UTC",
    ]


def test_an_invalid_item_hides_only_its_own_kind_of_follow_on_errors(
    seeded: str, content_dir: Path
) -> None:
    # An invalid expert called `fibromyalgya` must not hide an unknown *topic* of that name.
    experts = content_dir / "experts.yaml"
    experts.write_text(experts.read_text() + "\n- slug: fibromyalgya\n  name: ''\n")
    path = content_dir / ARTICLE
    _replace(path, "  - fibromyalgia\n", "  - fibromyalgya\n")

    problems = _problems(seeded, content_dir)

    assert (
        f"{ARTICLE}:{_line_of(path, '- fibromyalgya')}: topics[4]: unknown topic "
        "'fibromyalgya'" in problems
    )
    assert len(problems) == 2


def test_an_unreadable_topics_file_is_one_problem_not_one_per_article_topic(
    seeded: str, content_dir: Path
) -> None:
    (content_dir / "topics.yaml").write_text("magnesium: Magnesium\npain: Pain\n")

    assert _problems(seeded, content_dir) == [
        "topics.yaml:1: expected a list of topics (lines starting `- slug:`)"
    ]


def test_a_slug_from_the_file_name_says_so(seeded: str, content_dir: Path) -> None:
    (content_dir / "articles" / "My Article.md").write_text("---\ntitle: Mine\n---\nBody.\n")

    assert _problems(seeded, content_dir) == [
        "articles/My Article.md:2: slug: must be a slug: lowercase letters, digits and single "
        "hyphens (it comes from the file name; set `slug:` to choose another)"
    ]


def test_an_unknown_integer_key_points_at_its_own_line(seeded: str, content_dir: Path) -> None:
    path = content_dir / ARTICLE
    _replace(path, "status: published", "status: published\n1: x")

    assert _problems(seeded, content_dir) == [
        f"{ARTICLE}:{_line_of(path, '1: x')}: 1: is not a known field (field names are words, "
        "not numbers)"
    ]


def test_body_lines_count_leading_blank_lines(seeded: str, content_dir: Path) -> None:
    path = content_dir / "articles" / "blank-lead.md"
    path.write_text("---\ntitle: Blank lead\n---\n\n\n    indented code\n\nText [@missing].\n")

    assert _problems(seeded, content_dir) == [
        "articles/blank-lead.md:8: citation [@missing] names no reference"
    ]
