"""20 editors change one article at once over real HTTP: none of their edits is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from seed_data import SEED_DIR
from tests.api.conftest import post_json, running_server
from tests.helpers import load, make_key, query, write_lock_held

EDITORS = 20
SLUG = "magnesium-for-kidney-stones"
READ = """{
  article(slug: "magnesium-for-kidney-stones", preview: true) { version body(format: MARKDOWN) }
}"""
UPDATE = """mutation($v: Int!, $body: String!) {
  updateArticle(slug: "magnesium-for-kidney-stones", expectedVersion: $v, patch: {body: $body}) {
    article { version } errors { code message }
  }
}"""


def _edit(url: str, key: str, editor: int) -> int:
    """Append this editor's line, re-reading and retrying on every conflict; the attempts."""
    headers = {"authorization": f"Bearer {key}"}
    for attempt in range(1, 200):
        _, _, read = post_json(url, {"query": READ}, headers)
        article = read["data"]["article"]
        body = f"{article['body'].rstrip()}\n\nEdit by editor {editor}.\n"
        status, _, result = post_json(
            url, {"query": UPDATE, "variables": {"v": article["version"], "body": body}}, headers
        )
        assert status == 200, result
        payload = result["data"]["updateArticle"]
        if payload["errors"] == []:
            return attempt
        assert [e["code"] for e in payload["errors"]] == ["VERSION_CONFLICT"], payload
    raise AssertionError(f"editor {editor} never got an edit in")


def test_twenty_concurrent_editors_lose_no_edit(database_url: str) -> None:
    assert load(database_url, SEED_DIR).ok
    key = make_key(database_url, "newsroom", ["write", "preview"])
    with running_server(database_url, RATE_LIMIT_KEY="0") as base:
        with ThreadPoolExecutor(EDITORS) as pool:
            attempts = list(pool.map(lambda i: _edit(f"{base}/graphql", key, i), range(EDITORS)))
        _, _, final = post_json(
            f"{base}/graphql", {"query": READ}, {"authorization": f"Bearer {key}"}
        )

    article = final["data"]["article"]
    for editor in range(EDITORS):
        assert f"Edit by editor {editor}." in article["body"]
    assert article["version"] == 1 + EDITORS
    assert sum(attempts) > EDITORS  # they really did collide and retry
    revisions = query(
        database_url,
        "SELECT version, action FROM article_revision WHERE article_slug = :s ORDER BY version",
        s=SLUG,
    )
    assert [r["version"] for r in revisions] == list(range(1, EDITORS + 2))
    assert [r["action"] for r in revisions] == ["load"] + ["update"] * EDITORS


def test_an_edit_waits_for_a_long_load_beyond_the_statement_timeout(
    database_url: str,
) -> None:
    """A writer holds the lock longer than the API's statement timeout; the edit waits."""
    import threading

    from starlette.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings

    assert load(database_url, SEED_DIR).ok
    key = make_key(database_url, "newsroom", ["write"])
    settings = ApiSettings(database_url=database_url, statement_timeout_ms=300)
    with write_lock_held(database_url) as release, TestClient(create_app(settings)) as client:
        threading.Timer(1.5, release.set).start()
        response = client.post(
            "/graphql",
            json={
                "query": 'mutation { updateArticle(slug: "magnesium-for-kidney-stones", '
                'expectedVersion: 1, patch: {summary: "Waited."}) { article { version } } }'
            },
            headers={"authorization": f"Bearer {key}"},
        )
    assert response.json()["data"] == {"updateArticle": {"article": {"version": 2}}}
