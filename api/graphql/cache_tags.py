"""What an answer read, as cache tags: the response cache and CDNs drop an answer when a
change (the outbox, schema/changes.py) carries one of its tags.

Each Article, Topic and Expert shown tags the answer with its own tag; a quote, with its
article's. Any list, search or ranking of a kind (connections, related posts, an expert's
quotes) tags it `list:<kind>`, as does a lookup that found nothing (the item may appear),
and JSON-LD (built from rows it does not show) the lists of what it is built from. A change
carries its item's tag and its kind's list tag, so it drops exactly those.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.reads import Tagging

ENTITIES = ("Article", "Topic", "Expert")


def _review_changes(article: Any) -> dt.datetime | None:
    """When `isOverdue` turns true: the start (UTC) of the day after the review is due."""
    due: dt.date | None = getattr(article, "next_review_due", None)
    if due is None:
        return None
    moment = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    # Already overdue: it stays so, and the answer with it.
    return moment if moment > dt.datetime.now(dt.UTC) else None


def _list_changes(connection: Any) -> dt.datetime | None:
    """When a list filtered by today's date (`reviewOverdue`) may change with no write: the
    next midnight UTC (articles/queries.py `article_connection` notes it)."""
    return getattr(connection, "changes_at", None)


TAGGING = Tagging(
    entities={
        "Article": lambda row: f"Article:{row.id}",
        "Topic": lambda row: f"Topic:{row.id}",
        "Expert": lambda row: f"Expert:{row.id}",
        "Quote": lambda row: f"Article:{row.article_id}",
    },
    absent={
        "Article": ("list:Article",),
        "Topic": ("list:Topic",),
        "Expert": ("list:Expert",),
        "Quote": ("list:Article",),
        "Node": tuple(f"list:{kind}" for kind in ENTITIES),
    },
    lists={f"{kind}Connection": f"list:{kind}" for kind in ENTITIES},
    fields={
        ("Article", "relatedPosts"): ("list:Article",),  # ranked among every article
        # A topic's articles include its subtopics' (the tree may change); a list filtered by
        # topic or expert (`reviewedBy` on any article list) finds them by slug (which may
        # change) without showing them.
        ("Topic", "articles"): ("list:Topic", "list:Expert"),
        ("Expert", "articles"): ("list:Expert",),
        ("Query", "articles"): ("list:Topic", "list:Expert"),
        ("Expert", "quotes"): ("list:Article",),  # any article may start quoting them
        # Built from the article's topics, experts and reviewer, none of them selected.
        ("Article", "jsonLd"): ("list:Topic", "list:Expert"),
        # The public feed grows with every public change, and each carries its kind's list
        # tag (a draft's edits carry none, and the feed does not show them without preview).
        ("Query", "changes"): tuple(f"list:{kind}" for kind in ENTITIES),
    },
    expires={"Article": _review_changes, "ArticleConnection": _list_changes},
)
