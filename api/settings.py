"""Settings of the HTTP service: the content settings plus how it is served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from schema.keys import KeyProblem, parse_origin
from schema.settings import PROJECT_ROOT, Settings


class ApiSettings(Settings):
    """Every field is an environment variable of the same name (QUERY_STATS=1, DEBUG=1...)."""

    site_url: str = "http://127.0.0.1:8000"  # public base of article URLs without a canonical
    publisher_name: str = "Health Content"  # the publisher named in JSON-LD
    debug: bool = False  # show unexpected errors' messages to clients (never in production)
    query_stats: bool = False  # add extensions.queryStats {sqlStatements, durationMs}
    document_cache_size: int = 512  # parsed and validated GraphQL documents kept
    # Connections kept open; requests beyond them wait for one rather than opening more
    # (opening and closing connections under load costs far more than waiting).
    db_pool_size: int = 10
    statement_timeout_ms: int = 5000  # PostgreSQL cancels any longer statement of the API
    cache_max_age: int = 60  # seconds a CDN or browser may keep a GET query's answer
    graphiql: bool = True  # serve GraphiQL to browsers at GET /graphql
    graphiql_assets_dir: Path = PROJECT_ROOT / "graphiql" / "node_modules"
    # Requests a minute: per client address for anonymous callers, per key for keys (a key's
    # own --rate wins). 0 turns the limit off.
    rate_limit_anonymous: int = 120
    rate_limit_key: int = 1200
    # Counters shared by every worker and machine (redis://host:6379/0); in-process if unset.
    redis_url: str | None = None
    # Browser origins allowed to call (CORS), comma-separated; "*" allows any. Each key's own
    # --origin values are allowed too, for requests made with that key.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            try:
                return [o.strip() if o.strip() == "*" else parse_origin(o) for o in value]
            except KeyProblem as exc:
                raise ValueError(f"CORS_ORIGINS: {exc}") from None
        return value
