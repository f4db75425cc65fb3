"""`healthcontent webhooks`: add (the secret shown once), list, remove, deliveries, replay;
every input bounded, with an error that names it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.cli import main
from schema.deliveries import Claim, claim, finish
from tests.api.webhooks.conftest import deliveries, first, one_delivery, with_engine
from tests.helpers import query

RECEIVER = "http://127.0.0.1:9/hook"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["webhooks", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_and_remove(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_URLS", "1")
    db = ("--database-url", database_url)
    code, out, err = run(
        capsys, "add", "--url", RECEIVER, "--events", "article.*,topic.updated", *db
    )
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert "Webhook 1 added" in err and "only this once" in err

    code, out, err = run(capsys, "list", *db)
    assert code == 0, err
    assert RECEIVER in out and "article.*,topic.updated" in out
    assert secret not in out and "whsec_" not in out

    code, out, _ = run(capsys, "deliveries", "--webhook", "1", "--status", "pending", *db)
    assert code == 0 and len(out.strip().splitlines()) == 1  # the heading only

    assert run(capsys, "remove", "1", *db)[0] == 0
    assert query(database_url, "SELECT id FROM webhook") == []
    code, _, err = run(capsys, "remove", "1", *db)
    assert (code, err.strip()) == (1, "healthcontent webhooks: no webhook has id 1")
    code, _, err = run(capsys, "replay", "7", *db)
    assert (code, err.strip()) == (1, "healthcontent webhooks: no delivery has id 7")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--url", "ftp://example.org/x", "--events", "*"], "--url: must be an absolute http"),
        (["--url", "https://example.org/" + "x" * 2000, "--events", "*"], "--url: at most"),
        (["--url", "https://user:pw@example.org/", "--events", "*"], "--url: must not carry"),
        (["--url", "https://exa mple.org/", "--events", "*"], "--url: spaces"),
        (["--url", RECEIVER, "--events", "*"], "resolves only to private"),
        (["--url", "http://localhost:9/", "--events", "*"], "resolves only to private"),
        (["--url", "https://example.org/", "--events", "article.created"], "--events: unknown"),
        (["--url", "https://example.org/", "--events", ","], "--events: name at least one"),
        (
            ["--url", "https://example.org/", "--events", "*", "--description", "d" * 201],
            "--description: at most 200",
        ),
    ],
)
def test_bad_input_is_refused_naming_it(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    named: str,
) -> None:
    monkeypatch.delenv("WEBHOOKS_ALLOW_PRIVATE_URLS", raising=False)
    if "--description" in args:  # the URL must pass first: a public name that need not resolve
        monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_URLS", "1")
        args = [*args[:1], RECEIVER, *args[2:]]
    code, out, err = run(capsys, "add", *args, "--database-url", database_url)
    assert code == 1 and out == ""
    assert named in err
    assert query(database_url, "SELECT id FROM webhook") == []


def test_limits_on_the_log(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deliveries", "--limit", "0", "--database-url", database_url)
    assert (code, err.strip()) == (1, "healthcontent webhooks: --limit: between 1 and 1000")
    with pytest.raises(SystemExit) as exited:
        run(capsys, "deliveries", "--status", "lost", "--database-url", database_url)
    assert exited.value.code == 2


def test_an_unmigrated_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "list", "--database-url", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 4
    assert err.startswith("healthcontent webhooks: the database failed: ")
    assert "migrate" in err and len(err.strip().splitlines()) == 1


def test_a_delivery_is_not_replayed_while_an_attempt_is_under_way(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def claimed(engine: AsyncEngine) -> Claim:
        await one_delivery(engine)
        [attempt] = await claim(engine, limit=5, lease_s=60)
        return attempt

    attempt = with_engine(database_url, claimed)
    replay = ["webhooks", "replay", str(attempt.id), "--database-url", database_url]
    assert main(replay) == 1
    said = capsys.readouterr().err
    assert f"delivery {attempt.id} is being sent now" in said and "UTC" in said
    [row] = deliveries(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 1)  # untouched

    async def failed(engine: AsyncEngine) -> None:
        await finish(
            engine, attempt, delivered=False, status_code=500, error="HTTP 500", retry_in=None
        )

    with_engine(database_url, failed)  # logged: it may be replayed now
    assert main(replay) == 0
    assert "will be sent again now" in capsys.readouterr().out
    assert first(database_url)["status"] == "pending"


@pytest.mark.parametrize(
    "args",
    [
        ["remove", "99999999999"],
        ["replay", "2147483648"],
        ["replay", "0"],
        ["deliveries", "--webhook", "-1"],
        ["remove", "one"],
    ],
)
def test_ids_out_of_range_are_refused_naming_them(
    database_url: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhooks", *args, "--database-url", database_url])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "must be a whole number from 1 to 2147483647" in said
    assert ("argument --webhook" if "--webhook" in args else "argument id") in said
