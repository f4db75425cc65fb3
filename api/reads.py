"""What an answer read, in cache tags: `Tagging` says how each GraphQL type and field
is tagged (api/graphql/cache_tags.py fills it in); `Reads` is what one answer collected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


@dataclass(frozen=True)
class Tagging:
    """What an answer read, in cache tags (see api/graphql/cache_tags.py): the fast path
    notes them as it completes objects, at no cost to a plan that has none."""

    # GraphQL type -> the tag of one of its values ("Article" -> "Article:12").
    entities: Mapping[str, Callable[[Any], str]] = dataclass_field(default_factory=dict)
    # Type -> tags that a null where one was asked for depends on (it may appear).
    absent: Mapping[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    # Type -> tag of any list or ranking of its kind ("ArticleConnection" -> "list:Article").
    lists: Mapping[str, str] = dataclass_field(default_factory=dict)
    # (parent type, field) -> tags it reads besides its objects' ("Article", "relatedPosts":
    # ranked among all articles).
    fields: Mapping[tuple[str, str], tuple[str, ...]] = dataclass_field(default_factory=dict)
    # Type -> when what a value of it says stops being true (a review falling due), if ever.
    expires: Mapping[str, Callable[[Any], dt.datetime | None]] = dataclass_field(
        default_factory=dict
    )


@dataclass
class Reads:
    """What a fast-path answer read: its tags, and when it stops being true (None: never)."""

    tags: set[str] = dataclass_field(default_factory=set)
    expires: dt.datetime | None = None
