"""The ceiling for this stack: Starlette on uvicorn answering /graphql with fixed bytes.

Serves the bytes of the file named by STATIC_RESPONSE_FILE, so it does everything the real
service does per request except GraphQL and SQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app() -> Starlette:
    body = Path(os.environ["STATIC_RESPONSE_FILE"]).read_bytes()

    async def graphql(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
