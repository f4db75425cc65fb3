"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ (https://www.apollographql.com/docs/apollo-server/performance/apq): a client sends
`extensions.persistedQuery {version: 1, sha256Hash}` alone; a hash the service does not know
gets `PERSISTED_QUERY_NOT_FOUND`, and the client sends it again with the query, which is
checked against its hash and kept. GET requests carrying only the hash make short URLs a CDN
can cache. Hashes are kept in-process (bounded by count and bytes) and, with `REDIS_URL`,
in Redis too, so that every worker knows what one was told.

Trusted documents (`TRUSTED_DOCUMENTS=<manifest.json>`, the `{id: document}` file
graphql-codegen's client preset writes): anonymous callers may then run only those
documents, sent by id (`documentId`, or the APQ hash) or in full; keys may send any.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from api.errors import ErrorCode
from api.redis_backoff import RedisBackoff

log = logging.getLogger("healthcontent.persisted")

SHA256 = re.compile(r"[0-9a-f]{64}")
SHA1 = re.compile(r"[0-9a-f]{40}")
STORE_ENTRIES = 10_000  # queries kept in-process
STORE_BYTES = 32 * 1024 * 1024  # ... and their bytes at most
# A hash unused for an hour is forgotten in Redis (each use renews it; a client that then
# misses simply sends its query again). With larger documents never kept, one client at the
# anonymous rate limit can hold at most ~120 * 60 * 16 KiB there.
REDIS_TTL_S = 3600
MAX_KEPT_BYTES = 16 * 1024  # larger documents run, but are not kept (send them in full)


class PersistedQueryError(Exception):
    """A persisted-query request the service refuses: the message and code clients see."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def not_found() -> PersistedQueryError:
    # The message is the one Apollo Client's persisted-query link looks for (besides the code).
    return PersistedQueryError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")


@dataclass(frozen=True)
class Reference:
    """How a request named its document, if not (only) by its text."""

    sha256: str | None = None  # extensions.persistedQuery.sha256Hash
    document_id: str | None = None  # documentId (trusted documents)


def reference(extensions: Any, document_id: Any) -> Reference | None:
    """The persisted-query reference of a request's `extensions` and `documentId`, checked;
    None when it has neither."""
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None and document_id is None:
        return None
    if document_id is not None:
        if not isinstance(document_id, str) or not 0 < len(document_id) <= 200:
            raise PersistedQueryError(
                ErrorCode.BAD_REQUEST, "`documentId` must be a string of at most 200 characters"
            )
        return Reference(document_id=document_id)
    if not isinstance(persisted, dict):
        raise PersistedQueryError(
            ErrorCode.BAD_REQUEST, "`extensions.persistedQuery` must be an object"
        )
    if persisted.get("version") != 1:
        raise PersistedQueryError(
            ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
            "extensions.persistedQuery.version: only version 1 is supported",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise PersistedQueryError(
            ErrorCode.BAD_REQUEST,
            "extensions.persistedQuery.sha256Hash must be 64 lowercase hex digits (SHA-256)",
        )
    return Reference(sha256=digest)


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """`{id: document}` from a trusted-documents manifest. An id that looks like a SHA-256
    or SHA-1 digest must be that digest of its document (a stale manifest is refused at
    start, not discovered by clients); every document is also known by its SHA-256."""
    try:
        manifest = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"TRUSTED_DOCUMENTS: cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()
    ):
        raise ValueError(f"TRUSTED_DOCUMENTS: {path} must be a JSON object of id: document")
    documents: dict[str, str] = {}
    for key, document in manifest.items():
        digest = key.removeprefix("sha256:")
        if SHA256.fullmatch(digest) and digest != sha256(document):
            raise ValueError(f"TRUSTED_DOCUMENTS: {key} is not the SHA-256 of its document")
        if SHA1.fullmatch(key) and key != hashlib.sha1(document.encode()).hexdigest():
            raise ValueError(f"TRUSTED_DOCUMENTS: {key} is not the SHA-1 of its document")
        documents[key] = document
        digest = sha256(document)  # clients may name it by SHA-256, with or without prefix
        documents[digest] = documents[f"sha256:{digest}"] = document
    return documents


class PersistedQueries:
    """Queries by hash (APQ) and the trusted documents, if any."""

    def __init__(
        self,
        *,
        trusted: Mapping[str, str] | None = None,
        redis_url: str | None = None,
        prefix: str = "healthcontent",
        entries: int = STORE_ENTRIES,
        max_bytes: int = STORE_BYTES,
    ) -> None:
        self.trusted = dict(trusted) if trusted is not None else None
        self.entries, self.max_bytes = entries, max_bytes
        self.local: OrderedDict[str, str] = OrderedDict()
        self.bytes = 0
        self.prefix = f"{prefix}:apq:"
        self.redis: Any = None
        self.backoff = RedisBackoff("persisted-query store", log)
        if redis_url:
            import redis.asyncio as redis

            self.redis = redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def query(self, ref: Reference | None, query: str | None, *, keyed: bool) -> str:
        """The text to run: `query`, or the one `ref` names. Refused when the hash does not
        match the text, when the hash is unknown, and (with trusted documents) when an
        anonymous caller asks for anything else."""
        allowed = self.trusted if not keyed else None  # an anonymous caller runs only these
        restricted = allowed is not None
        if ref is None:
            if query is None:
                raise PersistedQueryError(ErrorCode.BAD_REQUEST, "no `query` given")
            if allowed is not None and sha256(query) not in allowed:
                raise _untrusted()
            return query
        if ref.document_id is not None:
            found = self.trusted.get(ref.document_id) if self.trusted is not None else None
            if found is None and not restricted:
                found = await self._get(ref.document_id.removeprefix("sha256:"))
            if query is not None:
                if found is not None and found != query:
                    raise PersistedQueryError(
                        ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
                        "`documentId` names another document than `query`",
                    )
                if found is None and restricted:
                    raise _untrusted()
                return query
            if found is None:
                raise not_found()
            return found
        assert ref.sha256 is not None
        if query is not None:
            if sha256(query) != ref.sha256:
                raise _mismatch()
            if allowed is not None and ref.sha256 not in allowed:
                raise _untrusted()
            return query
        found = self.trusted.get(ref.sha256) if self.trusted is not None else None
        if found is None and not restricted:
            found = await self._get(ref.sha256)
        if found is None:
            raise not_found()
        return found

    async def register(self, digest: str, query: str) -> None:
        """Keep `query` under its hash (once it validated and passed the request's checks:
        no junk is kept), unless it is over MAX_KEPT_BYTES."""
        if len(query.encode()) > MAX_KEPT_BYTES:
            return
        self._keep(digest, query)
        if self.redis is not None and self.backoff.usable():
            try:
                await self.redis.set(self.prefix + digest, query, ex=REDIS_TTL_S)
            except Exception as exc:
                self.backoff.failed(exc)

    def _keep(self, digest: str, query: str) -> None:
        if digest in self.local:
            self.local.move_to_end(digest)
            return
        self.local[digest] = query
        self.bytes += len(query)
        while len(self.local) > self.entries or self.bytes > self.max_bytes:
            _, dropped = self.local.popitem(last=False)
            self.bytes -= len(dropped)

    async def _get(self, digest: str) -> str | None:
        found = self.local.get(digest)
        if found is not None:
            self.local.move_to_end(digest)
            return found
        if self.redis is None or not self.backoff.usable():
            return None
        try:
            stored = await self.redis.getex(self.prefix + digest, ex=REDIS_TTL_S)
        except Exception as exc:
            self.backoff.failed(exc)
            return None
        if stored is None:
            return None
        text: str = stored.decode()
        if sha256(text) != digest:  # never trust what comes back blindly
            return None
        self._keep(digest, text)
        return text


def _mismatch() -> PersistedQueryError:
    return PersistedQueryError(
        ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
        "extensions.persistedQuery.sha256Hash is not the SHA-256 of `query`",
    )


def _untrusted() -> PersistedQueryError:
    return PersistedQueryError(
        ErrorCode.DOCUMENT_NOT_TRUSTED,
        "this service runs only its trusted documents for anonymous callers "
        "(TRUSTED_DOCUMENTS): send a known `documentId`, or use a key",
    )
