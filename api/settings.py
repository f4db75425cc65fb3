"""Settings of the HTTP service: the content settings plus how it is served."""

from __future__ import annotations

from pathlib import Path

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
