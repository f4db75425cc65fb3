"""A client that goes away cancels the work of its request.

ASGI servers do not cancel a request's task when its client disconnects: they only answer
`receive()` with `http.disconnect`. Once the body has been read, nothing else is waiting
for messages, so a watcher task can wait for that one and cancel the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import Request


class ClientDisconnected(Exception):
    """The client closed the connection before its answer was ready."""


@asynccontextmanager
async def cancelled_on_disconnect(request: Request) -> AsyncIterator[None]:
    """Run the block; if the client disconnects meanwhile, cancel it and raise
    ClientDisconnected. Enter it only after the request body has been read."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        yield
    except asyncio.CancelledError:
        # Our cancel, and no one else's (a server shutting down cancels too): say why.
        if gone and task.uncancel() == 0:
            raise ClientDisconnected from None
        raise
    finally:
        watcher.cancel()
