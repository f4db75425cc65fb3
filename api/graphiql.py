"""GraphiQL in the browser, served entirely by this service (offline, strict CSP).

GraphiQL's and React's builds are vendored in `api/static/graphiql/` (MIT, licences beside
them), so an installed package serves them with no npm and no network. They are the files of
the versions pinned in `graphiql/package.json`; `make graphiql` refreshes them from npm, and a
test checks each against the sha384 of the published file pinned below.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"


@dataclass(frozen=True)
class Asset:
    name: str  # served at /graphiql/<name>, vendored as api/static/graphiql/<name>
    integrity: str  # sha384 of the published file
    media_type: str


VERSIONS = {"graphiql": "3.9.0", "react": "18.3.1", "react-dom": "18.3.1"}
ASSETS = [
    Asset(
        "react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
        "text/javascript",
    ),
    Asset(
        "react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
        "text/javascript",
    ),
    Asset(
        "graphiql.min.css",
        "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
        "text/css",
    ),
    Asset(
        "graphiql.min.js",
        "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
        "text/javascript",
    ),
]
_BY_NAME = {asset.name: asset for asset in ASSETS}
_BOOT = "boot.js"  # our own start-up script: a file, so no inline script is needed


def wants_graphiql(request: Request) -> bool:
    """A browser opening /graphql: GET, no query, and HTML preferred to JSON."""
    # The Accept header first: most requests are not browsers', and it is cheaper to read
    # than the query string.
    if request.method != "GET" or "text/html" not in request.headers.get("accept", ""):
        return False
    return "query" not in request.query_params


def page() -> HTMLResponse:
    tags = []
    for asset in ASSETS:
        url, integrity = escape(f"/graphiql/{asset.name}"), escape(asset.integrity)
        if asset.media_type == "text/css":
            tags.append(f'<link rel="stylesheet" href="{url}" integrity="{integrity}">')
        else:
            tags.append(f'<script src="{url}" integrity="{integrity}"></script>')
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Health content API · GraphiQL</title>
<style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
{chr(10).join(tags)}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/{_BOOT}"></script>
</body>
</html>
"""
    return HTMLResponse(html)


def asset(name: str) -> Response:
    if name != _BOOT and name not in _BY_NAME:
        return PlainTextResponse("no such GraphiQL asset", status_code=404)
    media_type = "text/javascript" if name == _BOOT else _BY_NAME[name].media_type
    # Versions are pinned, so a file never changes under its name while this build runs.
    return FileResponse(
        ASSETS_DIR / name, media_type=media_type, headers={"cache-control": "public, max-age=86400"}
    )
