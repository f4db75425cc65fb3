"""Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` of
`<webhook-id>.<webhook-timestamp>.<body>`, keyed by the secret's bytes (the base64 after
`whsec_`)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt: its id (the same on every attempt), its time (this
    attempt's, in seconds) and the signature of both with the body."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
