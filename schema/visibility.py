"""Which articles a reader may see: published ones, unless a caller may preview others."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import col

from schema.tables import Article, ArticleStatus

PUBLISHED_ONLY = frozenset({ArticleStatus.PUBLISHED})
Statuses = frozenset[ArticleStatus]


def published() -> ColumnElement[bool]:
    return col(Article.status) == ArticleStatus.PUBLISHED


def visible(statuses: Statuses) -> ColumnElement[bool]:
    if statuses == PUBLISHED_ONLY:
        return published()
    return col(Article.status).in_(sorted(statuses))
