"""API keys: make one (shown once), list, revoke, and find the live key a caller presents.

A key reads `hck_<prefix>_<secret>`. The prefix is public and finds the row; only a SHA-256
digest of the whole key is stored (the secret is 256 random bits, so a fast digest is as safe
as a slow one), and digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.tables import ApiKey, utcnow


class Scope(StrEnum):
    PREVIEW = "preview"  # read drafts, archived articles and revisions
    WRITE = "write"  # create, edit, publish and delete content


_KEY = re.compile(r"hck_([a-z0-9]{10})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*")
_PER_MINUTE = {"s": 60, "sec": 60, "second": 60, "m": 1, "min": 1, "minute": 1}


class KeyProblem(ValueError):
    """A key request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    token: str  # the key itself: shown once, never stored


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_rate(text: str) -> int:
    """`120/min`, `5/s` or `1000/hour` as requests per minute (at least 1)."""
    match = _RATE.fullmatch(text)
    if not match:
        raise KeyProblem(f"rate {text!r}: write it as N/min (or N/s, N/hour)")
    count, unit = int(match.group(1)), match.group(2)
    per_minute = count // 60 if unit in ("h", "hour") else count * _PER_MINUTE[unit]
    if per_minute < 1:
        raise KeyProblem(f"rate {text!r}: at least 1 request a minute")
    return per_minute


# A host name or IPv4 address, or a bracketed IPv6 one, and an optional port: what an origin
# may hold (it goes into CORS answers and Content-Security-Policy frame-ancestors as it is).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"({_LABEL}(\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(:[0-9]{{1,5}})?")


def parse_origin(text: str) -> str:
    """A browser origin (scheme://host[:port]), as browsers send it in `Origin`."""
    parts = urlsplit(text.strip())
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.fullmatch(parts.netloc)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise KeyProblem(f"origin {text!r}: write it as https://host or https://host:port")
    host = parts.netloc.lower()
    # Browsers leave a scheme's default port out of `Origin`.
    host = host.removesuffix({"http": ":80", "https": ":443"}[parts.scheme])
    return f"{parts.scheme}://{host}"


def parse_scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    known = {s.value for s in Scope}
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise KeyProblem(f"unknown scope {unknown[0]!r}: scopes are {', '.join(sorted(known))}")
    return sorted(set(scopes))


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    origins: list[str],
    rate_per_minute: int | None,
) -> NewKey:
    """Store a new key's digest and return the key (the only time it exists in clear)."""
    if not _NAME.fullmatch(name):
        raise KeyProblem(
            f"name {name!r}: 1-100 letters, digits, spaces, dots, hyphens or underscores"
        )
    prefix = secrets.token_hex(5)
    token = f"hck_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=digest(token),
        scopes=scopes,
        origins=origins,
        rate_per_minute=rate_per_minute,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise KeyProblem(f"a key named {name!r} already exists") from None
    return NewKey(row, token)


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.execute(select(ApiKey).order_by(col(ApiKey.name)))).scalars())


async def revoke_key(session: AsyncSession, name: str) -> ApiKey:
    row = (
        await session.execute(select(ApiKey).where(col(ApiKey.name) == name))
    ).scalar_one_or_none()
    if row is None:
        raise KeyProblem(f"no key named {name!r}")
    if row.revoked_at is None:
        await session.execute(
            update(ApiKey).where(col(ApiKey.id) == row.id).values(revoked_at=utcnow())
        )
        await session.refresh(row)
    return row


async def find_live_key(session: AsyncSession, token: str) -> ApiKey | None:
    """The unrevoked key `token` is, or None (malformed, unknown or revoked alike)."""
    match = _KEY.fullmatch(token)
    if match is None:
        return None
    row = (
        await session.execute(select(ApiKey).where(col(ApiKey.prefix) == match.group(1)))
    ).scalar_one_or_none()
    # Compared even when no row matched, so the answer takes the same time either way.
    stored = row.key_hash if row is not None else "0" * 64
    if not hmac.compare_digest(digest(token), stored) or row is None:
        return None
    return row if row.revoked_at is None else None


async def live_origins(session: AsyncSession) -> set[str]:
    """Every origin some unrevoked key may call from (for CORS preflights, which carry no key)."""
    rows = await session.execute(
        select(col(ApiKey.origins)).where(col(ApiKey.revoked_at).is_(None))
    )
    return {origin for (origins,) in rows for origin in origins}


async def origins_of_prefix(session: AsyncSession, prefix: str) -> list[str] | None:
    """The origins of the unrevoked key whose public prefix is `prefix` (None: no such key)."""
    row = (
        await session.execute(
            select(col(ApiKey.origins)).where(
                col(ApiKey.prefix) == prefix, col(ApiKey.revoked_at).is_(None)
            )
        )
    ).first()
    return None if row is None else list(row[0])
