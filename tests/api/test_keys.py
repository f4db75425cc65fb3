"""API keys as callers see them over HTTP: made and revoked by `healthcontent keys`, never
stored, refused with a reason, and never cached by shared caches."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import ApiSettings
from tests.helpers import dump, make_key, query

COUNT = {"query": "{ articles { totalCount } }"}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_keys_from_the_cli_work_until_revoked_and_are_never_stored(
    seeded: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded)
    create = ["create", "--name", "acme", "--scopes", "preview", "--origin", "https://acme.example"]
    assert main(["keys", *create]) == 0
    created = capsys.readouterr()
    key = created.out.strip()
    assert key.startswith("hck_") and "only time it is shown" in created.err
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "acme" in listed and "active" in listed and key not in listed

    # The key is in no column of any table, whole or in part (its secret half).
    everything = str(dump(seeded)) + str(query(seeded, "SELECT * FROM api_key"))
    assert key not in everything and key.split("_", 2)[2] not in everything

    with TestClient(create_app(ApiSettings(database_url=seeded))) as client:
        drafts = {"query": "{ articles(status: [DRAFT]) { totalCount } }"}
        assert client.post("/graphql", json=drafts, headers=_bearer(key)).status_code == 200
        assert main(["keys", "revoke", "acme"]) == 0
        response = client.post("/graphql", json=drafts, headers=_bearer(key))
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"] == (
            "the API key is unknown or has been revoked"
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer hck_0123456789_" + "a" * 43, "the API key is unknown or has been revoked"),
        ("Bearer not-a-key", "the API key is unknown or has been revoked"),
        ("Basic dXNlcjpwYXNz", "send the API key as `Authorization: Bearer <key>`"),
        ("Bearer ", "send the API key as `Authorization: Bearer <key>`"),
    ],
)
def test_bad_credentials_get_401_with_a_reason(seeded: str, header: str, message: str) -> None:
    with TestClient(create_app(ApiSettings(database_url=seeded))) as client:
        response = client.post("/graphql", json=COUNT, headers={"authorization": header})
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def test_answers_to_keys_are_never_stored_by_shared_caches(seeded: str) -> None:
    key = make_key(seeded, "preview", ["preview"])
    with TestClient(create_app(ApiSettings(database_url=seeded))) as client:
        public = client.get("/graphql", params=COUNT)
        private = client.get("/graphql", params=COUNT, headers=_bearer(key))
    assert public.headers["cache-control"].startswith("public")
    assert private.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in private.headers["vary"]


def test_key_origins_are_written_as_browsers_send_them() -> None:
    from schema.keys import KeyProblem, parse_origin

    assert parse_origin("https://Acme.Example:443/") == "https://acme.example"
    assert parse_origin("http://localhost:3000") == "http://localhost:3000"
    with pytest.raises(KeyProblem, match="write it as https://host"):
        parse_origin("https://acme.example/path")
