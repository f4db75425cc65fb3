"""Which webhook URLs may be called: http(s) URLs whose host resolves to a public address.

Checked when a webhook is added and again at every attempt, where the address checked is
the address connected to (a name that later resolves elsewhere, DNS rebinding, never
reaches a private one). WEBHOOKS_ALLOW_PRIVATE_URLS=1 allows private, loopback and
link-local addresses (tests, and receivers on one's own network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

MAX_URL = 2000
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


class Refused(ValueError):
    """A URL that may not be called; the message says why."""


def parse_url(url: str) -> SplitResult:
    """`url`, split, if it is one we may call: absolute http(s), a host, no credentials,
    no fragment, nothing unprintable; in ASCII (a non-ASCII host IDNA-encoded, a path or
    query percent-encoded)."""
    if len(url) > MAX_URL:
        raise Refused(f"--url: at most {MAX_URL} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise Refused("--url: spaces and control characters are not allowed (percent-encode them)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("--url: must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise Refused("--url: has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("--url: must not carry credentials (the signature authenticates us)")
    if parts.fragment:
        raise Refused("--url: must not have a #fragment")
    try:
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError:
        raise Refused("--url: the port is not a number from 1 to 65535") from None
    return parts if url.isascii() else _ascii(parts)


def _ascii(parts: SplitResult) -> SplitResult:
    """`parts` as HTTP sends them: the host IDNA-encoded (`xn--`), the path and query
    percent-encoded as UTF-8."""
    assert parts.hostname is not None
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused(
            f"--url: the host {parts.hostname[:80]!r} is not a valid internationalised domain name"
        ) from None
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    try:
        path, query = (
            _NON_ASCII.sub(lambda m: quote(m.group(), safe=""), text)
            for text in (parts.path, parts.query)
        )
    except UnicodeError:
        raise Refused("--url: holds characters that are not Unicode text") from None
    url = urlunsplit((parts.scheme, netloc, path, query, ""))
    if len(url) > MAX_URL:
        raise Refused(f"--url: at most {MAX_URL} characters once in ASCII ({url[:60]}...)")
    return urlsplit(url)


def is_public(address: str) -> bool:
    """Whether `address` is a public unicast address (not private, loopback, link-local,
    shared, multicast, reserved or unspecified; IPv4-mapped IPv6 counts as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`: its first address we may call."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc})") from None
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if allow_private or is_public(address):
            return address
    raise Refused(
        f"{host} resolves only to private or reserved addresses ({', '.join(addresses)}): "
        "refused (WEBHOOKS_ALLOW_PRIVATE_URLS=1 allows them)"
    )


async def check_url(url: str, *, allow_private: bool) -> str:
    """`url` as it is to be stored and called (in ASCII), if it may be called now (Refused,
    saying why, if not)."""
    parts = parse_url(url)
    https = parts.scheme == "https"
    assert parts.hostname is not None
    try:
        await resolve(
            parts.hostname, parts.port or (443 if https else 80), allow_private=allow_private
        )
    except Refused as exc:
        raise Refused(f"--url: {exc}") from None
    return url if url.isascii() else parts.geturl()
