"""CORS: the configured origins, and each key's own, may call from a browser; no one else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.helpers import make_key, revoke

COUNT = {"query": "{ articles { totalCount } }"}


def _client(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(ApiSettings(database_url=url, **settings)))


def _preflight(client: TestClient, origin: str, headers: str = "content-type") -> Any:
    return client.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": headers,
        },
    )


def test_cors_allows_configured_origins_and_each_keys_own(seeded: str) -> None:
    key = make_key(seeded, "acme", origins=["https://acme.example"])
    with _client(seeded, cors_origins=["https://www.example.org"]) as client:
        site = _preflight(client, "https://www.example.org", "authorization, content-type")
        assert site.status_code == 204
        assert site.headers["access-control-allow-origin"] == "https://www.example.org"
        assert "authorization" in site.headers["access-control-allow-headers"]
        assert int(site.headers["access-control-max-age"]) > 0

        partner = _preflight(client, "https://acme.example", "authorization")
        assert partner.status_code == 204

        stranger = _preflight(client, "https://evil.example")
        assert stranger.status_code == 403
        assert "access-control-allow-origin" not in stranger.headers
        assert _preflight(client, "https://www.example.org", "x-custom").status_code == 403

        acme = {"origin": "https://acme.example"}
        bearer = {"authorization": f"Bearer {key}"}
        with_key = client.post("/graphql", json=COUNT, headers={**acme, **bearer})
        assert with_key.headers["access-control-allow-origin"] == "https://acme.example"
        assert "RateLimit-Remaining" in with_key.headers["access-control-expose-headers"]
        # The partner's origin is allowed with the partner's key only.
        without_key = client.post("/graphql", json=COUNT, headers=acme)
        assert "access-control-allow-origin" not in without_key.headers
        assert "Origin" in without_key.headers["vary"]


def test_a_revoked_keys_origins_are_refused(seeded: str) -> None:
    make_key(seeded, "acme", origins=["https://acme.example"])
    with _client(seeded) as client:
        assert _preflight(client, "https://acme.example").status_code == 204
    revoke(seeded, "acme")
    with _client(seeded) as client:
        assert _preflight(client, "https://acme.example").status_code == 403


def test_cors_origins_setting_reads_a_comma_separated_list(monkeypatch: Any) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, http://localhost:3000")
    assert ApiSettings().cors_origins == ["https://a.example", "http://localhost:3000"]
    monkeypatch.setenv("CORS_ORIGINS", "a.example")
    with pytest.raises(ValueError, match=re.escape("CORS_ORIGINS: origin 'a.example'")):
        ApiSettings()
