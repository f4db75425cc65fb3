"""Snapshots: a stored item read back in the form an editor writes it (its input model).

What a patch is applied to (`schema.edits`): an edit that leaves the snapshot as it was writes
nothing. A deleted article's last revision keeps its snapshot (revisions keep the input form).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from schema.inputs import ArticleInput, ExpertInput, ReferenceInput, TopicInput, quote_key
from schema.tables import Article, ArticleTopic, Expert, Quote, Reference, RelatedLink, Topic


async def article_input(*, session: AsyncSession, article: Article) -> ArticleInput:
    """A stored article in the form an editor writes it (what a patch is applied to)."""
    topics = (
        await session.execute(
            select(col(Topic.slug), col(ArticleTopic.is_primary))
            .join(Topic, col(Topic.id) == col(ArticleTopic.topic_id))
            .where(col(ArticleTopic.article_id) == article.id)
            .order_by(col(ArticleTopic.position))
        )
    ).all()
    quotes = await session.execute(
        select(col(Expert.slug), col(Quote.text), col(Quote.context), col(Quote.section_anchor))
        .join(Expert, col(Expert.id) == col(Quote.expert_id))
        .where(col(Quote.article_id) == article.id)
        .order_by(col(Quote.position))
    )
    references = await session.execute(
        select(Reference)
        .where(col(Reference.article_id) == article.id)
        .order_by(col(Reference.position))
    )
    target = aliased(Article, name="target")
    related = await session.execute(
        select(
            col(target.slug),
            col(RelatedLink.url),
            col(RelatedLink.title),
            col(RelatedLink.label),
            col(RelatedLink.excerpt),
        )
        .outerjoin(target, col(target.id) == col(RelatedLink.target_article_id))
        .where(col(RelatedLink.article_id) == article.id)
        .order_by(col(RelatedLink.position))
    )
    primary = next((slug for slug, is_primary in topics if is_primary), None)
    data: dict[str, Any] = {
        name: getattr(article, name)
        for name in ArticleInput.model_fields
        if name in Article.model_fields and name != "body"
    }
    data |= {
        "body": article.body_markdown,
        "topics": [slug for slug, _ in topics],
        "primary_topic": primary if topics and primary != topics[0][0] else None,
        "quotes": [
            {"expert": e, "text": t, "context": c, "section": _pinned(article, t, anchor)}
            for e, t, c, anchor in quotes
        ],
        "references": [
            {name: getattr(r, name) for name in ReferenceInput.model_fields}
            for r in references.scalars()
        ],
        "related": [
            {"article": slug, "url": url, "title": title, "label": label, "excerpt": excerpt}
            for slug, url, title, label, excerpt in related
        ],
        "review": None,
    }
    if article.reviewer_id is not None and article.reviewed_at is not None:
        reviewer = await session.get(Expert, article.reviewer_id)
        assert reviewer is not None  # reviewer_id is a foreign key (SET NULL on delete)
        data["review"] = {
            "reviewer": reviewer.slug,
            "reviewed_at": article.reviewed_at,
            "next_review_due": article.next_review_due,
        }
    return ArticleInput.model_validate(data)


async def topic_input(*, session: AsyncSession, topic: Topic) -> TopicInput:
    """A stored topic in the form an editor writes it (its parent by slug)."""
    parent = await session.get(Topic, topic.parent_id) if topic.parent_id is not None else None
    data = {name: getattr(topic, name) for name in TopicInput.model_fields if name != "parent"}
    return TopicInput.model_validate(data | {"parent": parent.slug if parent else None})


def expert_input(*, expert: Expert) -> ExpertInput:
    """A stored expert in the form an editor writes it."""
    return ExpertInput.model_validate(
        {name: getattr(expert, name) for name in ExpertInput.model_fields}
    )


def _pinned(article: Article, text: str, anchor: str | None) -> str | None:
    """A quote's section as the editor must have written it: None where the text's first
    section is the stored one (so moving the text moves the quote), the anchor otherwise."""
    key = quote_key(text)
    for section in article.sections:
        if key in quote_key(article.body_text[slice(*section["text"])]):
            return None if section["anchor"] == anchor else anchor
    return anchor
