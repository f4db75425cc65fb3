"""Article queries: `article(slug:)`, `articles(...)`, and the article lists of topics and
experts, each loading ahead the relations its selection asks for."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import graphene
from graphql import GraphQLError, GraphQLResolveInfo

from api.context import context_of
from api.errors import ErrorCode
from api.graphql.articles.enums import ArticleOrder, ArticleStatus
from api.graphql.articles.types import Article, ArticleConnection
from api.graphql.enums import ours
from api.graphql.loaders import loaders_of
from api.graphql.relay import bad_input, page_arguments, paged, selected
from schema import lists, tables, visibility
from schema.keys import Scope
from schema.pagination import PageError


def article_list_arguments() -> dict[str, Any]:
    return {
        **page_arguments(),
        "search": graphene.String(
            description="Full-text search of title, summary and body (stemmed, ranked). "
            "Any text is safe: quotes and operators are treated as words."
        ),
        "order_by": ArticleOrder(
            description="Default: RELEVANCE when searching, NEWEST otherwise."
        ),
        "status": graphene.List(
            graphene.NonNull(ArticleStatus),
            description="Only articles in these statuses (default: PUBLISHED). Anything "
            "else needs a key with the `preview` scope. Drafts without a date sort by "
            "creation.",
        ),
        "reviewed_by": graphene.String(
            description="Only articles medically reviewed by this expert (their slug)."
        ),
        "review_overdue": graphene.Boolean(
            description="true: only articles whose next review was due before today (UTC), "
            "as `isOverdue` says; false: only the others, those without a due date included."
        ),
        "reviewed_after": graphene.Date(
            description="Only articles reviewed after this day (exclusive: not on it)."
        ),
        "published_after": graphene.DateTime(
            description="Only articles first published after this moment (exclusive). Give a "
            "time zone (`Z` or an offset). Articles never published do not match."
        ),
        "published_before": graphene.DateTime(
            description="Only articles first published before this moment (exclusive). Give "
            "a time zone (`Z` or an offset). Articles never published do not match."
        ),
        "updated_after": graphene.DateTime(
            description="Only articles last changed after this moment (exclusive). Give a "
            "time zone (`Z` or an offset)."
        ),
    }


def _statuses(info: GraphQLResolveInfo, asked: list[Any] | None) -> visibility.Statuses:
    if asked is None:
        return visibility.PUBLISHED_ONLY
    statuses = frozenset(ours(tables.ArticleStatus, s) for s in asked)
    if not statuses:
        raise GraphQLError(
            "status: give at least one status", extensions={"code": ErrorCode.BAD_USER_INPUT}
        )
    if statuses != visibility.PUBLISHED_ONLY:
        context_of(info).caller.require(Scope.PREVIEW, "Listing unpublished articles")
    return statuses


_MOMENTS = {
    "published_after": "publishedAfter",
    "published_before": "publishedBefore",
    "updated_after": "updatedAfter",
}


def _moments(args: dict[str, Any]) -> dict[str, dt.datetime]:
    """The DateTime bounds given, in UTC; a time without a zone is refused, not guessed."""
    moments = {}
    for name, argument in _MOMENTS.items():
        value = args.get(name)
        if value is None:
            continue
        if value.utcoffset() is None:
            raise bad_input(
                PageError(argument, "give a time zone, as in 2026-01-31T00:00:00Z or +01:00")
            )
        try:
            moments[name] = value.astimezone(dt.UTC)
        except OverflowError:
            raise bad_input(PageError(argument, "is out of range")) from None
    after, before = moments.get("published_after"), moments.get("published_before")
    if after is not None and before is not None and before <= after:
        raise bad_input(
            PageError("publishedBefore", "must be later than `publishedAfter` (both exclusive)")
        )
    return moments


# What an article's fields may select, and the loaders that answer it for all rows at once.
_AHEAD = {
    "topics": ("topics_by_article_id",),
    "primaryTopic": ("topics_by_article_id",),
    "quotes": ("quotes_by_article_id",),
    "experts": ("quotes_by_article_id",),
    "references": ("references_by_article_id",),
    "jsonLd": ("topics_by_article_id", "references_by_article_id"),
}


def _prefetch(
    info: GraphQLResolveInfo, path: tuple[str, ...] = ("edges", "node")
) -> Callable[[list[Any]], Awaitable[Any]] | None:
    """Loads, for all the articles at once, the relations selected at `path` under the field
    being resolved: their fields then answer synchronously (`when_loaded`) instead of each
    awaiting its own load."""
    names = selected(info, path)
    wanted = sorted({loader for name in names for loader in _AHEAD.get(name, ())})
    if not wanted:
        return None
    loaders = loaders_of(info)

    together = {"topics_by_article_id", "references_by_article_id"}
    both = together <= set(wanted)  # one statement for the two (an article page)
    alone = [name for name in wanted if not (both and name in together)]

    async def prefetch(rows: list[Any]) -> None:
        ids = [row.id for row in rows]
        loads = [getattr(loaders, name).load_many(ids) for name in alone]
        if both:
            loads.append(loaders.topics_and_references(ids))
        # A failed load fails only the fields that ask for it (as without the plan), not the
        # list or the article: those fields load again (a failed key is not kept).
        await asyncio.gather(*loads, return_exceptions=True)

    return prefetch


async def article_connection(
    info: GraphQLResolveInfo,
    args: dict[str, Any],
    *,
    topic_id: int | None = None,
    expert_id: int | None = None,
) -> Any:
    search = args.get("search")
    order_by = args.get("order_by")
    if order_by is not None:
        order = ours(lists.ArticleOrder, order_by)
    else:
        order = lists.ArticleOrder.RELEVANCE if search is not None else lists.ArticleOrder.NEWEST
    statuses = _statuses(info, args.get("status"))
    moments = _moments(args)
    reviewer_id = None
    if args.get("reviewed_by") is not None:
        reviewer = await loaders_of(info).expert_by_slug.load(args["reviewed_by"])
        reviewer_id = reviewer.id if reviewer else -1
    overdue, today = args.get("review_overdue"), lists.utc_today()
    filters = lists.article_filter(
        topic_id=topic_id,
        expert_id=expert_id,
        reviewer_id=reviewer_id,
        review_overdue=overdue,
        today=today,
        reviewed_after=args.get("reviewed_after"),
        statuses=statuses,
        **moments,
    )
    found = await paged(
        info,
        ArticleConnection,
        args,
        prefetch=_prefetch(info),
        fetch=lambda session, page: lists.article_page(
            session=session,
            page=page,
            order=order,
            filters=filters,
            search=search,
            statuses=statuses,
        ),
    )
    if overdue is not None:
        # Which reviews are overdue changes at midnight UTC with no write: the response
        # cache keeps the answer until then (api/graphql/cache_tags.py).
        found.changes_at = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
    return found


class ArticleQueries(graphene.ObjectType):
    """Article lookups and lists."""

    article = graphene.Field(
        Article,
        slug=graphene.String(required=True, description="The article's slug."),
        preview=graphene.Boolean(
            default_value=False,
            description="Also find drafts and archived articles (needs a key with the "
            "`preview` scope).",
        ),
        description="A published article by slug (any status with `preview`); null if there "
        "is none.",
    )
    articles = graphene.Field(
        ArticleConnection,
        required=True,
        topic=graphene.String(description="Only articles about this topic slug or its subtopics."),
        expert=graphene.String(description="Only articles quoting or reviewed by this expert."),
        description="Published articles (other statuses with `status` and a preview key), "
        "a page at a time.",
        **article_list_arguments(),
    )

    async def resolve_article(root: Any, info: GraphQLResolveInfo, slug: str, preview: bool) -> Any:
        if preview:
            context_of(info).caller.require(Scope.PREVIEW, "`preview: true`")
            article = await loaders_of(info).any_article_by_slug.load(slug)
        else:
            article = await loaders_of(info).article_by_slug.load(slug)
        prefetch = _prefetch(info, ())
        if article is not None and prefetch is not None:
            await prefetch([article])
        return article

    async def resolve_articles(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        topic_id = expert_id = None
        if args.get("topic") is not None:
            topic = await loaders_of(info).topic_by_slug.load(args["topic"])
            topic_id = topic.id if topic else -1
        if args.get("expert") is not None:
            expert = await loaders_of(info).expert_by_slug.load(args["expert"])
            expert_id = expert.id if expert else -1
        return await article_connection(info, args, topic_id=topic_id, expert_id=expert_id)
