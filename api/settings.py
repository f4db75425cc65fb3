"""Settings of the HTTP service: the content settings plus how it is served."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from schema.inputs import clean_attribution_html, http_url
from schema.keys import KeyProblem, parse_origin
from schema.settings import Settings


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ApiSettings(Settings):
    """Every field is an environment variable of the same name (QUERY_STATS=1, DEBUG=1...)."""

    site_url: str = "http://127.0.0.1:8000"  # public base of article URLs without a canonical
    publisher_name: str = "Health Content"  # the publisher named in JSON-LD
    # What partners may do with articles that set no licence of their own, and how they
    # must credit them (unset: "Source: <PUBLISHER_NAME>" linking to the article's URL).
    license_name: str = Field(default="All rights reserved", min_length=1, max_length=200)
    license_url: str | None = None
    attribution_text: str | None = Field(default=None, min_length=1, max_length=500)
    attribution_html: str | None = None  # cleaned as articles' own are
    debug: bool = False  # show unexpected errors' messages to clients (never in production)
    access_log: bool = True  # uvicorn's line per request (0: off, when a proxy logs them)
    query_stats: bool = False  # add extensions.queryStats {sqlStatements, durationMs}
    document_cache_size: int = 512  # parsed and validated GraphQL documents kept
    # A graphql-codegen persisted-documents manifest ({id: document}): anonymous callers may
    # then run only these documents; keys may run any.
    trusted_documents: Path | None = None
    # Run every query through the fast executor and graphql-core both, and refuse (an
    # error, logged) any difference in their answers. For tests: it doubles each query's work.
    executor_check: bool = False
    # Connections kept open; requests beyond them wait for one rather than opening more
    # (opening and closing connections under load costs far more than waiting).
    db_pool_size: int = 10
    # How long a request waits for a free connection before a 503 (a full pool means the
    # service is overloaded: waiting longer only piles requests up).
    db_pool_timeout_ms: int = Field(default=2000, gt=0)
    # How long opening a database connection may take: a database that accepts connections
    # but never answers gives fast 503s instead of hanging every request.
    db_connect_timeout_ms: int = Field(default=2000, gt=0)
    statement_timeout_ms: int = 5000  # PostgreSQL cancels any longer statement of the API
    # Wall time of one request once its headers are in (the time its body takes to arrive
    # aside); then its work is cancelled and its connection goes back to the pool.
    request_timeout_ms: int = Field(default=5000, gt=0)
    cache_max_age: int = 60  # seconds a CDN or browser may keep a GET query's answer
    # ... and may go on serving it while it fetches a fresh one (a purge still drops it).
    cache_stale_while_revalidate: int = Field(default=30, ge=0)
    # URLs in one sitemap file (the protocol allows 50,000); past it, /sitemap.xml is an index
    # of parts. 10,000 keeps a part (~1.7 MB) small enough for the response cache to keep.
    sitemap_urls_per_file: int = Field(default=10_000, ge=1, le=50_000)
    # The response cache (api/response_cache.py): answers for callers who see only published
    # content, dropped by tag when content changes. 0 turns it off (engine benchmarks do).
    response_cache: bool = True
    response_cache_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    response_cache_ttl_s: int = Field(default=300, gt=0)  # the longest any answer is kept
    # How often each worker reads the change outbox: a change shows everywhere within it.
    change_poll_ms: int = Field(default=200, gt=0)
    # Where to send purges of changed tags (a CDN's purge-by-tag endpoint), and the headers
    # it needs, as JSON: CDN_PURGE_HEADERS='{"Authorization": "Bearer ..."}'.
    cdn_purge_url: str | None = None
    cdn_purge_headers: dict[str, str] = Field(default_factory=dict)
    # Webhooks (api/webhooks): each worker sends the deliveries that are due. 0 stops this
    # process sending (they wait, as rows, for a server that does).
    webhooks: bool = True
    # Call webhook URLs that resolve to private, loopback or link-local addresses (tests, a
    # receiver on one's own network); refused by default, when added and at every attempt.
    webhooks_allow_private_urls: bool = False
    webhooks_poll_ms: int = Field(default=500, gt=0)  # how often new and due ones are sought
    webhooks_timeout_ms: int = Field(default=10_000, gt=0)  # one attempt, connect to answer
    webhooks_concurrency: int = Field(default=8, gt=0, le=100)  # attempts at once per worker
    # Attempts under way at once to one webhook, across workers (and below
    # WEBHOOKS_CONCURRENCY): an endpoint that hangs never holds every sending slot.
    webhooks_max_in_flight: int = Field(default=2, gt=0, le=100)
    # Multiplies the retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): tests shrink it.
    webhooks_retry_scale: float = Field(default=1.0, ge=0, le=10)
    # Days the log of finished (delivered or failed) deliveries is kept; pending ones stay.
    webhooks_log_days: int = Field(default=30, gt=0)
    graphiql: bool = True  # serve GraphiQL to browsers at GET /graphql
    # `__schema` and `__type` (the SDL is public, so on by default). Off, they are refused
    # and error messages carry no "Did you mean ...?" hints; `__typename` always works.
    introspection: bool = True

    # Limits every document must keep (checked once per document, then cached).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)  # a POST body, or a GET query
    max_query_bytes: int = Field(default=64 * 1024, gt=0)  # the document (long text: variables)
    max_variable_values: int = Field(default=10_000, gt=0)  # numbers, strings, lists, objects
    max_query_tokens: int = Field(default=1000, gt=0)
    max_query_depth: int = Field(default=15, gt=0)
    max_query_aliases: int = Field(default=30, ge=0)
    max_query_directives: int = Field(default=50, ge=0)
    # The most a document may cost (see api/cost.py: objects, times page sizes).
    max_query_cost: int = Field(default=5000, gt=0)

    # Requests a minute: per client address for anonymous callers, per key for keys (a key's
    # own --rate wins). 0 turns the limit off; RATE_LIMIT_ANONYMOUS=0 turns every anonymous
    # limit off, cost budget included.
    rate_limit_anonymous: int = 120
    rate_limit_key: int = 1200
    # Query cost a minute, on the same windows (0: no budget).
    rate_limit_cost_anonymous: int = 20_000
    rate_limit_cost_key: int = 200_000
    # Counters shared by every worker and machine (redis://host:6379/0); in-process if unset.
    redis_url: str | None = None
    # Every key this service writes in Redis starts with this (several services, or test
    # runs, can share one Redis).
    redis_prefix: str = "healthcontent"
    # Browser origins allowed to call (CORS), comma-separated; "*" allows any. Each key's own
    # --origin values are allowed too, for requests made with that key.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # comma-separated; "*" trusts anyone). Default: none, so a client cannot pick its own
    # address (and rate-limit bucket) by sending the header.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _budgets_fit_a_query(self) -> ApiSettings:
        names = ["rate_limit_cost_key"]
        if self.rate_limit_anonymous > 0:  # 0 turns every anonymous limit off
            names.append("rate_limit_cost_anonymous")
        for name in names:
            budget = getattr(self, name)
            if 0 < budget < self.max_query_cost:
                raise ValueError(
                    f"{name.upper()} ({budget}) must be at least MAX_QUERY_COST "
                    f"({self.max_query_cost}), or 0 for no budget: a query may cost that much"
                )
        return self

    @field_validator("license_url", mode="before")
    @classmethod
    def _license_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        try:
            return http_url(str(value))
        except ValueError as exc:
            raise ValueError(f"LICENSE_URL: {exc}") from None

    @field_validator("attribution_html")
    @classmethod
    def _attribution_html(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return clean_attribution_html(value)
        except ValueError as exc:
            raise ValueError(f"ATTRIBUTION_HTML: {exc}") from None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        value = _comma_separated(value)
        if isinstance(value, list):
            try:
                return [o.strip() if o.strip() == "*" else parse_origin(o) for o in value]
            except KeyProblem as exc:
                raise ValueError(f"CORS_ORIGINS: {exc}") from None
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        value = _comma_separated(value)
        for entry in value if isinstance(value, list) else ():
            try:
                if entry != "*":
                    ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"FORWARDED_ALLOW_IPS: {entry!r} is not an address or network "
                    "(like 10.0.0.1 or 10.0.0.0/8) or *"
                ) from None
        return value
