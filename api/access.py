"""Who is calling: anonymous, or the holder of an API key (`Authorization: Bearer <key>`)."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from api.errors import ErrorCode
from schema.keys import Scope, find_live_key
from schema.tables import ApiKey


@dataclass(frozen=True)
class Caller:
    """The key a request came with (None: anonymous) and the address it came from."""

    key: ApiKey | None
    address: str

    @property
    def name(self) -> str:
        return self.key.name if self.key is not None else "anonymous"

    def can(self, scope: Scope) -> bool:
        if self.key is None:
            return False
        scopes = self.key.scopes
        # Whoever may change drafts may read them (mutation payloads show what was written).
        return scope.value in scopes or (scope == Scope.PREVIEW and Scope.WRITE.value in scopes)

    def require(self, scope: Scope, what: str) -> None:
        """A FORBIDDEN GraphQL error unless the key has `scope`."""
        if self.can(scope):
            return
        holder = "anonymous callers" if self.key is None else f"key {self.key.name!r}"
        raise GraphQLError(
            f"{what} needs a key with the {scope.value!r} scope; {holder} cannot",
            extensions={"code": ErrorCode.FORBIDDEN, "scope": scope.value},
        )


class Unauthenticated(Exception):
    """An Authorization header that names no live key: answered with 401."""


def bearer_token(request: Request) -> str | None:
    """The key in `Authorization: Bearer <key>`, or None when there is no header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send the API key as `Authorization: Bearer <key>`")
    return token.strip()


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn puts the client's address here when the proxy is trusted
    # (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


async def identify(request: Request, session: AsyncSession) -> Caller:
    """The caller of `request`; Unauthenticated for an unknown, revoked or malformed key."""
    token = bearer_token(request)
    address = client_address(request)
    if token is None:
        return Caller(None, address)
    key = await find_live_key(session, token)
    if key is None:
        raise Unauthenticated("the API key is unknown or has been revoked")
    return Caller(key, address)
