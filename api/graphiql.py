"""GraphiQL in the browser, with its assets served by this service (offline, strict CSP).

The Makefile installs the pinned packages (graphiql/package.json) into graphiql/node_modules;
nothing third-party is committed. Without them, the page loads the same files from a CDN,
pinned and checked with Subresource Integrity hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Asset:
    name: str  # served at /graphiql/<name>
    package_path: str  # under node_modules
    integrity: str  # sha384 of the published file (the CDN serves the same bytes)
    media_type: str

    def cdn_url(self) -> str:
        package, _, path = self.package_path.partition("/")
        return f"https://cdn.jsdelivr.net/npm/{package}@{VERSIONS[package]}/{path}"


VERSIONS = {"graphiql": "3.9.0", "react": "18.3.1", "react-dom": "18.3.1"}
ASSETS = [
    Asset(
        "react.production.min.js",
        "react/umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
        "text/javascript",
    ),
    Asset(
        "react-dom.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
        "text/javascript",
    ),
    Asset(
        "graphiql.min.css",
        "graphiql/graphiql.min.css",
        "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
        "text/css",
    ),
    Asset(
        "graphiql.min.js",
        "graphiql/graphiql.min.js",
        "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
        "text/javascript",
    ),
]
_BY_NAME = {asset.name: asset for asset in ASSETS}


def wants_graphiql(request: Request) -> bool:
    """A browser opening /graphql: GET, no query, and HTML preferred to JSON."""
    if request.method != "GET" or "query" in request.query_params:
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def page(assets_dir: Path) -> HTMLResponse:
    local = all((assets_dir / a.package_path).is_file() for a in ASSETS)
    tags = []
    for asset in ASSETS:
        if local:
            url, extra = f"/graphiql/{asset.name}", ""
        else:
            url = asset.cdn_url()
            extra = f' integrity="{asset.integrity}" crossorigin="anonymous"'
        if asset.media_type == "text/css":
            tags.append(f'<link rel="stylesheet" href="{escape(url)}"{extra}>')
        else:
            tags.append(f'<script src="{escape(url)}"{extra}></script>')
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
<script src="/graphiql/boot.js"></script>
</body>
</html>
"""
    return HTMLResponse(html, headers={"x-graphiql-assets": "local" if local else "cdn"})


def asset(name: str, assets_dir: Path) -> Response:
    if name == "boot.js":
        return FileResponse(STATIC / "graphiql-boot.js", media_type="text/javascript")
    found = _BY_NAME.get(name)
    path = assets_dir / found.package_path if found else None
    if found is None or path is None or not path.is_file():
        return PlainTextResponse("no such GraphiQL asset", status_code=404)
    # Versions are pinned, so a file never changes under its name while this build runs.
    return FileResponse(
        path, media_type=found.media_type, headers={"cache-control": "public, max-age=86400"}
    )
