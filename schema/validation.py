"""Checks across items: slugs that must exist, duplicates, cycles, quotes that must be in the body.

Pure functions over validated inputs plus what the database already holds, so the seed loader and
the GraphQL mutations report the same problems with the same messages. A `Problem` names the
item and the field path; callers turn that into `file:line` or a GraphQL field error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from schema.inputs import (
    SLUG_PATTERN,
    ArticleInput,
    ExpertInput,
    QuoteInput,
    TopicInput,
    quote_key,
)
from schema.rendering import RenderedBody

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one item of a batch."""

    kind: str  # "topic", "expert" or "article"
    index: int  # the item's position in the batch
    loc: Loc  # field path inside the item, e.g. ("quotes", 0, "expert"); () is the whole item
    message: str
    body_line: int | None = None  # 1-based line in an article's Markdown body
    also: tuple[str, int] | None = None  # the other item, for duplicates
    missing: tuple[str, str] | None = None  # (kind, slug) this problem says does not exist

    @property
    def field(self) -> str:
        """`quotes[0].expert` style path of `loc`."""
        out = ""
        for part in self.loc:
            if isinstance(part, int) and out:
                out += f"[{part}]"
            else:
                out += f".{part}" if out else str(part)
        return out


@dataclass
class Known:
    """Slugs the database already holds (and topic parents, to catch cycles)."""

    topics: set[str] = field(default_factory=set)
    experts: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    topic_parents: dict[str, str | None] = field(default_factory=dict)


_FRIENDLY = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (check its spelling)",
    "invalid_key": "is not a known field (field names are words, not numbers)",
}


def problems_from_error(kind: str, index: int, error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems, with messages written for editors."""
    problems = []
    for err in error.errors(include_url=False):
        message = _FRIENDLY.get(err["type"], err["msg"])
        if err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == (
            SLUG_PATTERN
        ):
            message = "must be a slug: lowercase letters, digits and single hyphens"
        if err["type"].startswith("value_error"):
            message = message.removeprefix("Value error, ")
        problems.append(Problem(kind, index, tuple(err["loc"]), message))
    return problems


def _duplicates(kind: str, slugs: Sequence[str]) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for i, slug in enumerate(slugs):
        if slug in first:
            problems.append(
                Problem(kind, i, ("slug",), f"duplicate slug {slug!r}", also=(kind, first[slug]))
            )
        else:
            first[slug] = i
    return problems


def _topic_problems(topics: Sequence[TopicInput], known: Known) -> list[Problem]:
    problems = _duplicates("topic", [t.slug for t in topics])
    parents = dict(known.topic_parents)
    parents.update({t.slug: t.parent for t in topics})
    for i, topic in enumerate(topics):
        if topic.parent is None:
            continue
        if topic.parent not in parents:
            problems.append(
                Problem(
                    "topic",
                    i,
                    ("parent",),
                    f"unknown topic {topic.parent!r}",
                    missing=("topic", topic.parent),
                )
            )
            continue
        seen = {topic.slug}
        node: str | None = topic.parent
        while node is not None and node not in seen:
            seen.add(node)
            node = parents.get(node)
        if node == topic.slug:
            problems.append(
                Problem("topic", i, ("parent",), f"parent {topic.parent!r} makes a cycle")
            )
    return problems


def locate_quotes(rendered: RenderedBody, quotes: Sequence[QuoteInput]) -> list[str | None]:
    """For each quote, the anchor of the section containing its text (the section it names, or
    else the first that has the text); None where the text is not in the body."""
    if not quotes:
        return []
    normalised: dict[str, str] = {}  # only computed when the verbatim text is not found
    out: list[str | None] = []
    for quote in quotes:
        candidates = [s for s in rendered.sections if quote.section in (None, s.anchor)]
        verbatim = quote.text.rstrip(".,;:!?… ")
        texts = {s.anchor: rendered.section_text(s) for s in candidates}
        found = next((anchor for anchor, text in texts.items() if verbatim in text), None)
        if found is None:
            key = quote_key(quote.text)
            for s in candidates:
                if s.anchor not in normalised:
                    normalised[s.anchor] = quote_key(texts[s.anchor])
                if key in normalised[s.anchor]:
                    found = s.anchor
                    break
        out.append(found)
    return out


def _article_problems(
    i: int,
    article: ArticleInput,
    rendered: RenderedBody | None,
    anchors: Sequence[str | None],
    topics: set[str],
    experts: set[str],
    articles: set[str],
) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: Loc, message: str, missing: tuple[str, str] | None = None) -> None:
        out.append(Problem("article", i, loc, message, missing=missing))

    for n, slug in enumerate(article.topics):
        if slug not in topics:
            add(("topics", n), f"unknown topic {slug!r}", ("topic", slug))
        elif slug in article.topics[:n]:
            add(("topics", n), f"topic {slug!r} is listed twice")
    keys: set[str] = set()
    for n, ref in enumerate(article.references):
        if ref.key in keys:
            add(("references", n, "key"), f"duplicate reference key {ref.key!r}")
        keys.add(ref.key)
    targets: set[str] = set()
    for n, link in enumerate(article.related):
        target = link.article or link.url or ""
        if target in targets:
            add(("related", n), f"{target!r} is already a related link of this article")
        targets.add(target)
        if link.article is None:
            continue
        if link.article == article.slug:
            add(("related", n, "article"), "an article cannot be related to itself")
        elif link.article not in articles:
            message = f"related link to missing article {link.article!r}"
            add(("related", n, "article"), message, ("article", link.article))
    if article.review is not None and article.review.reviewer not in experts:
        reviewer = article.review.reviewer
        add(("review", "reviewer"), f"unknown expert {reviewer!r}", ("expert", reviewer))
    seen_quotes: set[tuple[str, str]] = set()
    for n, quote in enumerate(article.quotes):
        if (quote.expert, quote_key(quote.text)) in seen_quotes:
            add(("quotes", n), "the same quote by the same expert is already listed")
        seen_quotes.add((quote.expert, quote_key(quote.text)))
        if quote.expert not in experts:
            message = f"quote names missing expert {quote.expert!r}"
            add(("quotes", n, "expert"), message, ("expert", quote.expert))
        if rendered is None:
            continue
        if quote.section is not None and quote.section not in {s.anchor for s in rendered.sections}:
            add(("quotes", n, "section"), f"no section has the anchor {quote.section!r}")
        elif anchors[n] is None:
            where = f"section {quote.section!r}" if quote.section else "the body"
            add(("quotes", n, "text"), f"quote text does not appear in {where}")
    if rendered is not None:
        for problem in rendered.problems:
            out.append(Problem("article", i, ("body",), problem.message, body_line=problem.line))
    return out


def check_batch(
    *,
    topics: Sequence[TopicInput],
    experts: Sequence[ExpertInput],
    articles: Sequence[ArticleInput],
    known: Known,
    rendered: Mapping[int, RenderedBody],
    quote_anchors: Mapping[int, Sequence[str | None]],
) -> list[Problem]:
    """Every cross-item problem in the batch.

    `rendered` holds the bodies that changed and `quote_anchors` where their quotes were found
    (`locate_quotes`); unchanged articles were checked when they were written.
    """
    topic_slugs = known.topics | {t.slug for t in topics}
    expert_slugs = known.experts | {e.slug for e in experts}
    article_slugs = known.articles | {a.slug for a in articles}
    problems = _topic_problems(topics, known)
    problems += _duplicates("expert", [e.slug for e in experts])
    problems += _duplicates("article", [a.slug for a in articles])
    for i, article in enumerate(articles):
        problems += _article_problems(
            i,
            article,
            rendered.get(i),
            quote_anchors.get(i, ()),
            topic_slugs,
            expert_slugs,
            article_slugs,
        )
    return problems
