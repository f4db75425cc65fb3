"""DATABASE_URL: the forms people write are accepted and always get the async driver."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from schema.settings import Settings, normalise_database_url


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DATABASE_URL in the environment, and a working directory with no `.env` file."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite:////abs/path/x.db", "sqlite+aiosqlite:////abs/path/x.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite+pysqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u:pw@h:5432/db", "postgresql+asyncpg://u:pw@h:5432/db"),
        (
            "postgresql+psycopg://u@h/db?sslmode=require",
            "postgresql+asyncpg://u@h/db?sslmode=require",
        ),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("PostgreSQL://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("  postgres://u@h/db\n", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_normalise_picks_the_async_driver(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_normalising_twice_changes_nothing() -> None:
    once = normalise_database_url("postgres://u@h/db")

    assert normalise_database_url(once) == once


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "mysql+aiomysql://u@h/db", "oracle://u@h/db", "mssql://u@h/db"]
)
def test_unsupported_dialect_is_rejected_by_name(url: str) -> None:
    dialect = url.split(":")[0].split("+")[0]

    with pytest.raises(ValueError, match=f"dialect '{dialect}' is not supported") as caught:
        normalise_database_url(url)

    assert "sqlite or postgresql" in str(caught.value)


@pytest.mark.parametrize("url", ["var/content.db", "not a url", "", "postgresql:/u@h/db"])
def test_value_that_is_not_a_url_is_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="is not a URL") as caught:
        normalise_database_url(url)

    assert repr(url.strip()) in str(caught.value)


def test_settings_read_database_url_from_the_environment_and_normalise_it(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")

    assert Settings().database_url == "postgresql+asyncpg://u@h/db"


def test_settings_read_database_url_from_a_dotenv_file(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("DATABASE_URL=sqlite:///var/from-dotenv.db\n")

    assert Settings().database_url == "sqlite+aiosqlite:///var/from-dotenv.db"


def test_environment_wins_over_the_dotenv_file(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text("DATABASE_URL=sqlite:///var/from-dotenv.db\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/from-env.db")

    assert Settings().database_url == "sqlite+aiosqlite:///var/from-env.db"


def test_settings_normalise_an_explicit_url(clean_environment: Path) -> None:
    assert Settings(database_url="postgresql+psycopg2://u@h/db").database_url == (
        "postgresql+asyncpg://u@h/db"
    )


def test_unsupported_url_in_the_environment_fails_settings(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u@h/db")

    with pytest.raises(ValidationError, match="dialect 'mysql' is not supported"):
        Settings()


def test_default_is_var_content_db_in_the_working_directory(clean_environment: Path) -> None:
    url = Settings().database_url

    assert url.startswith("sqlite+aiosqlite:///")
    expected = clean_environment / "var" / "content.db"
    assert Path(url.removeprefix("sqlite+aiosqlite:///")) == expected
