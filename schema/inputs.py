"""What editors write: validated input for topics, experts and articles.

The seed loader and the GraphQL mutations both build these models, so field validation and its
messages live here once. Cross-references between items are checked in `schema.validation`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

import nh3
import orjson
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlmodel import SQLModel

from schema.rendering import RENDER_VERSION
from schema.tables import ArticleBase, ExpertBase, TopicBase


def http_url(value: str) -> str:
    """`value`, if it is an absolute http(s) URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _date_as_midnight(value: Any) -> Any:
    """A bare date (YAML `2024-05-01`) means midnight UTC that day."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value


def _aware_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes without a zone are taken as UTC; all are stored in UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:30+01:00 is before year 1 in UTC
        raise ValueError("is out of range once converted to UTC") from None


def _no_nul(value: Any) -> Any:
    # PostgreSQL cannot store NUL in text, and no editor means to type one.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a NUL character (\\x00)")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


# Lengths match the columns, so over-long input is a field error, never a database error.
HttpUrl = Annotated[str, Field(max_length=2000), AfterValidator(http_url)]
Slug = Annotated[str, Field(max_length=200, pattern=SLUG_PATTERN)]
ShortSlug = Annotated[str, Field(max_length=120, pattern=SLUG_PATTERN)]  # topics, experts
UTCDatetime = Annotated[
    dt.datetime | None, BeforeValidator(_date_as_midnight), AfterValidator(_aware_utc)
]
Text = Annotated[str, Field(min_length=1)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Input(SQLModel):
    # SQLModel types model_config as its own TypedDict (private); pydantic's is what it reads.
    model_config = _STRICT  # type: ignore[assignment]  # see the line above
    _check_nul = field_validator("*")(_no_nul)
    # Remembered (and pickled along, from a loader's worker processes); inputs are not
    # modified after validation.
    _hash: str | None = PrivateAttr(default=None)
    _hash_salt = 0  # what besides the fields decides what is stored
    # Fields added later, left out of the hash while unset: content stored before they
    # existed keeps its hash (a load does not rewrite, and re-version, every item).
    _hash_when_set: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """Fingerprint of the input (and renderer version): equal hash, nothing to write."""
        if self._hash is None:
            fields = self.model_dump(mode="json")
            for name in self._hash_when_set:
                if fields.get(name) is None:
                    fields.pop(name, None)
            payload = orjson.dumps([self._hash_salt, fields], option=orjson.OPT_SORT_KEYS)
            self._hash = hashlib.sha256(payload).hexdigest()
        return self._hash


class ExpertInput(ExpertBase, _Input):
    """An expert as written in experts.yaml or sent to createExpert/updateExpert."""

    slug: ShortSlug
    profile_url: HttpUrl | None = None


class TopicInput(TopicBase, _Input):
    """A topic as written in topics.yaml; `parent` is the slug of the broader topic."""

    slug: ShortSlug
    parent: Slug | None = None
    synonyms: list[Text] = Field(default_factory=list)


class QuoteInput(_Input):
    """An expert's words in the article; `section` is the anchor of the section quoting them.

    The text must appear in the body (trailing punctuation aside). When `section` is left out,
    the section containing the text is found automatically.
    """

    expert: Slug
    text: Text
    context: str | None = None
    section: Slug | None = None


class ReferenceInput(_Input):
    """A cited source. Cite it in the body as `[@key]`."""

    key: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
    title: Text
    url: HttpUrl | None = None
    doi: Annotated[str | None, Field(max_length=200, pattern=r"^10\.\d{4,9}/\S+$")] = None
    pubmed_id: Annotated[str | None, Field(pattern=r"^\d{1,10}$")] = None
    year: Annotated[int | None, Field(ge=1500, le=2100)] = None
    publisher: Annotated[str | None, Field(max_length=300)] = None


class RelatedLinkInput(_Input):
    """A curated related post: another article (`article: slug`) or an outside `url`."""

    article: Slug | None = None
    url: HttpUrl | None = None
    title: Annotated[str | None, Field(max_length=300)] = None
    label: Annotated[str | None, Field(max_length=100)] = None
    excerpt: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RelatedLinkInput:
        if (self.article is None) == (self.url is None):
            raise ValueError("give exactly one of `article` (a slug) or `url`")
        if self.url is not None and not self.title:
            raise ValueError("a link to an outside `url` needs a `title`")
        return self


class ReviewInput(_Input):
    """Medical review: who reviewed the article (an expert slug) and when."""

    reviewer: Slug
    reviewed_at: dt.date
    next_review_due: dt.date | None = None

    @model_validator(mode="after")
    def _due_after_review(self) -> ReviewInput:
        if self.next_review_due is not None and self.next_review_due <= self.reviewed_at:
            raise ValueError("next_review_due must be after reviewed_at")
        return self


_attribution_html = nh3.Cleaner(
    tags={"a", "em", "strong", "b", "i", "span"},
    attributes={"a": {"href", "title"}},
    url_schemes={"http", "https"},
    url_relative="deny",  # a relative link would point into the partner's own site
    link_rel="noopener",
)
_text_only = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})
MAX_ATTRIBUTION_HTML = 2000


def clean_attribution_html(value: str) -> str:
    """Links (absolute http(s) only) and emphasis; anything else removed. Checked for
    length once cleaned, since cleaning can lengthen it (`rel`, entities)."""
    if len(value) > 4 * MAX_ATTRIBUTION_HTML:  # bounds the cleaner's work
        raise ValueError(f"at most {MAX_ATTRIBUTION_HTML} characters")
    cleaned = _attribution_html.clean(value).strip()
    if len(cleaned) > MAX_ATTRIBUTION_HTML:
        raise ValueError(f"at most {MAX_ATTRIBUTION_HTML} characters once cleaned")
    return cleaned


def attribution_text_of(html: str) -> str:
    """The words of attribution HTML, as plain text."""
    return " ".join(_text_only.clean(html).split())


class LicenseInput(_Input):
    """The licence an article is published under (overrides the service's default)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: HttpUrl | None = None


class AttributionInput(_Input):
    """How a partner must credit an article: plain text, and HTML (links and emphasis
    only; anything else is removed)."""

    text: Annotated[str, Field(min_length=1, max_length=500)]
    html: str | None = None

    @field_validator("html")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return clean_attribution_html(value) if value is not None else None


class ArticleInput(ArticleBase, _Input):
    """An article: metadata, Markdown body, and its topics, quotes, references and links."""

    _hash_salt = RENDER_VERSION  # a new renderer re-renders every article on the next load
    _hash_when_set = ("license", "attribution")
    slug: Slug
    published_at: UTCDatetime = None
    canonical_url: HttpUrl | None = None
    hero_image_url: HttpUrl | None = None
    # Not stripped: leading blank lines and indentation are Markdown (and body line numbers).
    body: Annotated[str, StringConstraints(strip_whitespace=False)]
    topics: list[Slug] = Field(default_factory=list)
    primary_topic: Slug | None = None
    quotes: list[QuoteInput] = Field(default_factory=list)
    references: list[ReferenceInput] = Field(default_factory=list)
    related: list[RelatedLinkInput] = Field(default_factory=list)
    review: ReviewInput | None = None
    # Dicts in the table, models here: validated on the way in, dumped as JSON on the way out
    # (schema.upserts). Overriding a field's type is what mypy refuses.
    license: LicenseInput | None = None  # type: ignore[assignment]  # a dict in ArticleBase
    attribution: AttributionInput | None = None  # type: ignore[assignment]  # likewise

    @model_validator(mode="after")
    def _consistent(self) -> ArticleInput:
        if (self.hero_image_alt or self.hero_image_credit) and not self.hero_image_url:
            raise ValueError("hero_image_alt and hero_image_credit need a hero_image_url")
        if self.primary_topic is not None and self.primary_topic not in self.topics:
            raise ValueError(f"primary_topic {self.primary_topic!r} is not one of `topics`")
        return self

    @property
    def primary(self) -> str | None:
        return self.primary_topic or (self.topics[0] if self.topics else None)


_TRAILING = re.compile(r"[\s.,;:!?…]+$")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


def quote_key(text: str) -> str:
    """How quote text is matched against a section: spacing, curly quotes, end punctuation aside."""
    return _TRAILING.sub("", " ".join(text.translate(_QUOTES).split()))
