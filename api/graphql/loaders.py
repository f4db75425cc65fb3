"""Per-request DataLoaders: every relation is fetched in one statement per batch of keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from graphene.utils.dataloader import DataLoader
from graphql import GraphQLResolveInfo

from schema import lookups, tables

ALL = frozenset(tables.ArticleStatus)
MAX_REVISIONS = 100  # the most `article.revisions` gives at once


class SessionSource(Protocol):
    """What a loader needs of its request: reads in the request's session (lent one task at a
    time, retried once on a connection found dead)."""

    def read(self, fetch: Callable[[Any], Awaitable[Any]]) -> Awaitable[Any]: ...


Fetch = Callable[[Any, Sequence[Any]], Awaitable[dict[Any, Any]]]
K = TypeVar("K")
V = TypeVar("V")
# A stored row's id, as its row types it: SQLModel types primary keys `int | None` (None only
# before the row is inserted); every row a key is taken from has one.
RowId = int | None


class _Loader(DataLoader, Generic[K, V]):
    """Runs `fetch(session, keys)` as a read of the request (its session, lent to one task at
    a time); answers in key order."""

    if TYPE_CHECKING:  # graphene's DataLoader is untyped: what ours load, for mypy only

        def load(self, key: K) -> asyncio.Future[V]: ...

        def load_many(self, keys: Sequence[K]) -> asyncio.Future[list[V]]: ...

        def prime(self, key: K, value: V) -> _Loader[K, V]: ...

    def __init__(self, context: SessionSource, fetch: Fetch, default: Any = None) -> None:
        super().__init__()
        self.context, self.fetch, self.default = context, fetch, default

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        # A key with a NUL names nothing, and PostgreSQL refuses it in a text parameter.
        asked = [k for k in keys if not (isinstance(k, str) and "\x00" in k)]
        found: dict[Any, Any] = {}
        if asked:
            found = await self.context.read(lambda session: self.fetch(session, asked))
        default = self.default
        return [found.get(key, [] if default is list else default) for key in keys]


class Loaders:
    """One instance per request (cached results must never leak between callers)."""

    def __init__(self, context: SessionSource) -> None:
        self._context = context

        def loader(fetch: Fetch, default: Any = None) -> _Loader[Any, Any]:
            return _Loader(context, fetch, default)

        # Articles in any status: only behind a preview-scope check, or for something (a
        # quote, a payload) reached through an article the caller may already see.
        self.any_article_by_id: _Loader[RowId, tables.Article | None] = loader(
            lambda s, k: lookups.articles_by(session=s, column="id", keys=k, statuses=ALL)
        )
        self.any_article_by_slug: _Loader[str, tables.Article | None] = _PrimingLoader(
            context,
            lambda s, k: lookups.articles_by(session=s, column="slug", keys=k, statuses=ALL),
            [self.any_article_by_id],
        )
        # Published articles: what every public path (lookups, related posts) shows. What
        # they find is also an article "in any status".
        self.article_by_id: _Loader[RowId, tables.Article | None] = _PrimingLoader(
            context,
            lambda s, k: lookups.articles_by(session=s, column="id", keys=k),
            [self.any_article_by_id],
        )
        self.article_by_slug: _Loader[str, tables.Article | None] = _PrimingLoader(
            context,
            lambda s, k: lookups.articles_by(session=s, column="slug", keys=k),
            [self.article_by_id, self.any_article_by_id],
        )
        self.article_text_by_id: _Loader[RowId, lookups.ArticleText | None] = loader(
            lambda s, k: lookups.article_texts(session=s, ids=k)
        )
        self.topic_by_id: _Loader[RowId, tables.Topic | None] = loader(
            lambda s, k: lookups.rows_by(session=s, table=tables.Topic, column="id", keys=k)
        )
        self.topic_by_slug: _Loader[str, tables.Topic | None] = loader(
            lambda s, k: lookups.rows_by(session=s, table=tables.Topic, column="slug", keys=k)
        )
        self.expert_by_id: _Loader[RowId, tables.Expert | None] = loader(
            lambda s, k: lookups.rows_by(session=s, table=tables.Expert, column="id", keys=k)
        )
        self.expert_by_slug: _Loader[str, tables.Expert | None] = loader(
            lambda s, k: lookups.rows_by(session=s, table=tables.Expert, column="slug", keys=k)
        )
        self.topics_by_article_id: _Loader[RowId, list[tuple[tables.Topic, bool]]] = loader(
            lambda s, k: lookups.topics_of_articles(session=s, article_ids=k), list
        )
        self.references_by_article_id: _Loader[RowId, list[tables.Reference]] = loader(
            lambda s, k: lookups.references_of_articles(session=s, article_ids=k), list
        )
        # Keyed by (article id, how many): the batch ranks as many as the largest asks.
        self.related_by_article_id = _RelatedLoader(context, self)
        self.quotes_by_article_id = _QuotesLoader(context, self)
        # Keyed by (expert id, how many): the batch fetches as many as the largest asks.
        self.quotes_by_expert_id: _Loader[tuple[RowId, int], list[tables.Quote]] = loader(
            _quotes_of_experts, list
        )
        self.quote_by_id: _Loader[RowId, tables.Quote | None] = loader(
            lambda s, k: lookups.quotes_by_ids(session=s, ids=k)
        )
        self.any_quote_by_id: _Loader[RowId, tables.Quote | None] = loader(
            lambda s, k: lookups.quotes_by_ids(session=s, ids=k, statuses=ALL)
        )
        self.revisions_by_article_id: _Loader[RowId, list[tables.ArticleRevision]] = loader(
            lambda s, k: lookups.revisions_of_articles(
                session=s, article_ids=k, limit=MAX_REVISIONS
            ),
            list,
        )

    async def topics_and_references(self, article_ids: Sequence[int]) -> None:
        """Both relations of these articles in one statement (for a plan that needs both),
        answering the topics and references loaders for them."""
        topics, references = await self._context.read(
            lambda s: lookups.topics_and_references_of_articles(session=s, article_ids=article_ids)
        )
        for article_id in article_ids:
            self.topics_by_article_id.prime(article_id, topics.get(article_id, []))
            self.references_by_article_id.prime(article_id, references.get(article_id, []))


async def _quotes_of_experts(
    session: Any, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[Any]]:
    limit = max(first for _, first in keys)
    found = await lookups.quotes_of_experts(
        session=session, expert_ids=sorted({i for i, _ in keys}), limit=limit
    )
    return {(i, first): found.get(i, [])[:first] for i, first in keys}


class _PrimingLoader(_Loader[str | RowId, tables.Article | None]):
    """Rows found here also answer later lookups by id in the `by_id` loaders."""

    def __init__(
        self,
        context: SessionSource,
        fetch: Fetch,
        by_id: list[_Loader[RowId, tables.Article | None]],
    ) -> None:
        super().__init__(context, fetch)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        results = await super().batch_load_fn(keys)
        for row in results:
            if row is not None:
                for loader in self.by_id:
                    loader.prime(row.id, row)
        return results


class _RelatedLoader(_Loader[tuple[RowId, int], lookups.Related]):
    """Related posts come with the articles they show, which primes the article loaders."""

    def __init__(self, context: SessionSource, loaders: Loaders) -> None:
        super().__init__(context, self._fetch, lookups.Related([], []))
        self.loaders = loaders

    @staticmethod
    async def _fetch(session: Any, keys: Sequence[tuple[int, int]]) -> dict[Any, Any]:
        depth = max(first for _, first in keys)
        ids = sorted({i for i, _ in keys})
        found = await lookups.related_of_articles(session=session, article_ids=ids, depth=depth)
        out = {}
        for i, first in keys:
            related = found.get(i) or lookups.Related([], [])
            out[i, first] = lookups.Related(related.links, related.ranked[:first])
        return out

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        results = await super().batch_load_fn(keys)
        for related in results:
            shown = [a for _, a in related.links if a is not None] + related.ranked
            for article in shown:
                for loader in (self.loaders.article_by_id, self.loaders.any_article_by_id):
                    loader.prime(article.id, article)
        return results


class _QuotesLoader(_Loader[RowId, list[tuple[tables.Quote, tables.Expert]]]):
    """Quotes come with their experts (a join), which primes the expert loader."""

    def __init__(self, context: SessionSource, loaders: Loaders) -> None:
        super().__init__(
            context, lambda s, k: lookups.quotes_of_articles(session=s, article_ids=k), list
        )
        self.loaders = loaders

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        results = await super().batch_load_fn(keys)
        for pairs in results:
            for _, expert in pairs:
                self.loaders.expert_by_id.prime(expert.id, expert)
        return results


def when_loaded(future: asyncio.Future[Any], then: Callable[[Any], Any]) -> Any:
    """`then(value)` at once if the loader already has the value (a plan fetched it ahead):
    graphql-core then completes the field in place, with no coroutine, Task or gather. Else
    an awaitable of it, batched with the other fields' loads as usual."""
    if future.done() and not future.cancelled() and future.exception() is None:
        return then(future.result())

    async def later() -> Any:
        return then(await future)

    return later()


def loaders_of(info: GraphQLResolveInfo) -> Loaders:
    """The request's loaders (`info.context.loaders`, one set per request), typed."""
    loaders: Loaders = info.context.loaders
    return loaders
