"""SQLModel tables. `XBase` holds the fields editors write, `X(XBase, table=True)` is the table.

Tables are created only by Alembic migrations (schema/migrations). Rendered forms of an
article body (HTML, text, sections) are stored at write time so reads never render.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Field, SQLModel

# Named constraints make migrations reproducible on both databases (and SQLite batch mode work).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class RevisionAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"
    DELETE = "delete"
    LOAD = "load"  # written by the seed loader


class TopicKind(StrEnum):
    SUPPLEMENT = "supplement"
    CONDITION = "condition"
    SYMPTOM = "symptom"
    GENERAL = "general"


def _check_in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


def core_table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model (its `__table__`, which SQLModel sets but does not
    declare to type checkers), for statements that skip the ORM: bulk inserts and updates,
    a table joined to itself under aliases."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table), model
    return table


# --- Experts ---------------------------------------------------------------------------------


class ExpertBase(SQLModel):
    """A quoted or reviewing person, as editors describe them."""

    slug: str = Field(max_length=120, unique=True)
    name: str = Field(min_length=1, max_length=200)
    honorific: str | None = Field(default=None, max_length=40)
    credentials: str | None = Field(default=None, max_length=200)
    specialty: str | None = Field(default=None, max_length=200)
    affiliation: str | None = Field(default=None, max_length=300)
    location: str | None = Field(default=None, max_length=200)
    practising_since: int | None = Field(default=None, ge=1900, le=2100)
    bio: str | None = Field(default=None, sa_type=sa.Text)
    profile_url: str | None = Field(default=None, max_length=2000)


class Expert(ExpertBase, table=True):
    """The expert table."""

    __tablename__ = "expert"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Topics ----------------------------------------------------------------------------------


class TopicBase(SQLModel):
    """A subject articles are about: a supplement, a condition, a symptom or a general theme."""

    slug: str = Field(max_length=120, unique=True)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)
    kind: TopicKind = Field(default=TopicKind.GENERAL, sa_type=sa.String(16))
    synonyms: list[str] = Field(default_factory=list, sa_type=JSON)


class Topic(TopicBase, table=True):
    """The topic table; `parent_id` builds the hierarchy (pain > chronic pain > fibromyalgia)."""

    __tablename__ = "topic"
    __table_args__ = (sa.CheckConstraint(_check_in("kind", TopicKind), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(
        default=None, foreign_key="topic.id", ondelete="SET NULL", index=True
    )
    version: int = Field(default=1)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Articles --------------------------------------------------------------------------------


class ArticleBase(SQLModel):
    """The editor-written metadata of an article."""

    slug: str = Field(max_length=200, unique=True)
    title: str = Field(min_length=1, max_length=300)
    summary: str | None = Field(default=None, sa_type=sa.Text)
    status: ArticleStatus = Field(default=ArticleStatus.DRAFT, sa_type=sa.String(16))
    published_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    canonical_url: str | None = Field(default=None, max_length=2000)
    hero_image_url: str | None = Field(default=None, max_length=2000)
    hero_image_alt: str | None = Field(default=None, max_length=500)
    hero_image_credit: str | None = Field(default=None, max_length=500)
    seo_title: str | None = Field(default=None, max_length=200)
    seo_description: str | None = Field(default=None, max_length=500)
    disclaimer: str | None = Field(default=None, sa_type=sa.Text)
    # Overrides of the service's default licence ({name, url}) and attribution ({text, html}).
    license: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    attribution: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))


class Article(ArticleBase, table=True):
    """The article table, with the body's source and its forms rendered at write time."""

    __tablename__ = "article"
    __table_args__ = (
        sa.CheckConstraint(_check_in("status", ArticleStatus), name="status"),
        # Keyset pagination of the public list: WHERE status = ? ORDER BY published_at, id.
        sa.Index("ix_article_status_published_at_id", "status", "published_at", "id"),
        # ... ORDER BY updated_at, id (UPDATED) and ORDER BY lower(title), id (TITLE).
        sa.Index("ix_article_status_updated_at_id", "status", "updated_at", "id"),
        sa.Index("ix_article_status_lower_title_id", "status", sa.text("lower(title)"), "id"),
        # The review filters: reviewOverdue (next_review_due < today) and reviewedAfter.
        sa.Index("ix_article_status_next_review_due", "status", "next_review_due"),
        sa.Index("ix_article_status_reviewed_at", "status", "reviewed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    body_markdown: str = Field(sa_type=sa.Text)
    body_html: str = Field(sa_type=sa.Text)
    body_text: str = Field(sa_type=sa.Text)
    word_count: int
    reading_time_minutes: int
    # [{anchor, heading, level, html, text, cites}] in body order; level 0 is the untitled lead.
    sections: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    reviewer_id: int | None = Field(
        default=None, foreign_key="expert.id", ondelete="SET NULL", index=True
    )
    reviewed_at: dt.date | None = None
    next_review_due: dt.date | None = None
    content_hash: str = Field(max_length=64)


class ArticleTopic(SQLModel, table=True):
    """An article's topics in editorial order; exactly one of them is primary."""

    __tablename__ = "article_topic"
    __table_args__ = (
        sa.Index(
            "uq_article_topic_primary",
            "article_id",
            unique=True,
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        ),
    )

    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", ondelete="RESTRICT", primary_key=True, index=True)
    position: int
    is_primary: bool = False


class Quote(SQLModel, table=True):
    """An expert's words inside an article, tied to the section they appear in."""

    __tablename__ = "quote"
    __table_args__ = (sa.UniqueConstraint("article_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    expert_id: int = Field(foreign_key="expert.id", ondelete="RESTRICT", index=True)
    section_anchor: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_type=sa.Text)
    context: str | None = Field(default=None, sa_type=sa.Text)
    position: int


class RelatedLink(SQLModel, table=True):
    """A curated link from one article to another article or to an outside URL."""

    __tablename__ = "related_link"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "position"),
        sa.CheckConstraint("(target_article_id IS NULL) <> (url IS NULL)", name="article_or_url"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    target_article_id: int | None = Field(
        default=None, foreign_key="article.id", ondelete="CASCADE", index=True
    )
    url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=300)
    label: str | None = Field(default=None, max_length=100)
    excerpt: str | None = Field(default=None, sa_type=sa.Text)
    position: int


class Reference(SQLModel, table=True):
    """A source an article cites; sections cite it in Markdown as `[@key]`."""

    __tablename__ = "reference"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "key"),
        sa.UniqueConstraint("article_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    key: str = Field(max_length=100)
    title: str = Field(sa_type=sa.Text)
    url: str | None = Field(default=None, max_length=2000)
    doi: str | None = Field(default=None, max_length=200)
    pubmed_id: str | None = Field(default=None, max_length=20)
    year: int | None = None
    publisher: str | None = Field(default=None, max_length=300)
    position: int


class ArticleRevision(SQLModel, table=True):
    """One version of an article as an editor would write it, with who made it and when.

    Every write of an article (GraphQL mutation or seed load) adds one, so every version
    stays readable, the current one included. Kept when the article is deleted.
    """

    __tablename__ = "article_revision"
    __table_args__ = (
        sa.CheckConstraint(_check_in("action", RevisionAction), name="action"),
        sa.Index("ix_article_revision_article_id_version", "article_id", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int | None = Field(default=None, foreign_key="article.id", ondelete="SET NULL")
    article_slug: str = Field(max_length=200)
    version: int
    action: RevisionAction = Field(sa_type=sa.String(16))
    # The article in its input form (ArticleInput as JSON): body Markdown, topics, quotes...
    snapshot: dict[str, Any] = Field(sa_type=JSON)
    changed_by: str = Field(max_length=100)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Changes ---------------------------------------------------------------------------------


class ChangeAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"
    DELETED = "deleted"


class ChangeEntity(StrEnum):
    ARTICLE = "Article"
    TOPIC = "Topic"
    EXPERT = "Expert"


class Change(SQLModel, table=True):
    """One change to content, written in the transaction that made it (the outbox).

    Every writer (the loader and the GraphQL mutations share the write path) appends here,
    so whoever follows this table by `id` sees every committed change, in commit order:
    the response cache and CDN purges do, and webhooks and a change feed can.
    """

    __tablename__ = "change"
    __table_args__ = (
        sa.CheckConstraint(_check_in("action", ChangeAction), name="action"),
        sa.CheckConstraint(_check_in("entity", ChangeEntity), name="entity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity: ChangeEntity = Field(sa_type=sa.String(16))
    entity_id: int
    slug: str = Field(max_length=200)
    action: ChangeAction = Field(sa_type=sa.String(16))
    version: int | None = None
    # What a cached answer that showed this item, or a list of its kind, is tagged with,
    # space-separated: "Article:12 list:Article".
    tags: str = Field(sa_type=sa.Text)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Whether the item was public before or after the change (a published article, any topic
    # or expert): webhooks and the public `changes` feed tell of these only, never of a
    # draft's edits. Not public unless the writer says so (fail closed).
    public: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The article's canonical URL at this version, when it was first published elsewhere
    # (its public address is then that, not its page here).
    canonical_url: str | None = Field(default=None, max_length=2000)


class OutboxCursor(SQLModel, table=True):
    """How far a durable follower of the outbox has got: the last change it has handled.

    Webhooks' fan-out keeps its place here (name "webhooks"), moved in the transaction that
    writes the deliveries, so every change is fanned out once, across restarts."""

    __tablename__ = "outbox_cursor"

    name: str = Field(max_length=40, primary_key=True)
    change_id: int = 0


# --- Webhooks --------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to be sent (again) at next_attempt_at
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt of the retry schedule failed


class Webhook(SQLModel, table=True):
    """A partner's endpoint, sent the public changes it subscribed to (Standard Webhooks).

    The secret signs every delivery, so it is kept as it is, not as a digest; it is shown
    once, when the webhook is added."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    # Event names or patterns: "article.published", "article.*", "*".
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    secret: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=200)
    # The newest change when it was added: it hears only of later ones.
    since_change_id: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One change sent to one webhook: the message (its id and exact body, the same bytes on
    every attempt), where it stands, and the log of its last attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.CheckConstraint(_check_in("status", DeliveryStatus), name="status"),
        sa.UniqueConstraint("webhook_id", "change_id"),
        # What is due: WHERE status = 'pending' AND next_attempt_at <= now.
        sa.Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=40, unique=True)  # webhook-id: msg_...
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE")
    change_id: int
    event_type: str = Field(max_length=40)  # "article.published"
    body: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=sa.String(16))
    attempts: int = 0
    # When it is next due (pending), or when a claimed attempt's lease runs out.
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # While an attempt is under way (claimed, not yet logged): when its lease runs out.
    leased_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Access ----------------------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    """An API key: who holds it, what it may do, where it may be used from, how often.

    Only a SHA-256 digest of the key is stored; `prefix` (public, part of the key) finds the
    row, and the digest is compared in constant time.
    """

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    origins: list[str] = Field(default_factory=list, sa_type=JSON)
    rate_per_minute: int | None = None  # None: the service's default for keys
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
