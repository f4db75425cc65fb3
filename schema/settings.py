"""Settings read from the environment (and a `.env` file), shared by every entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """`./var/content.db` under the working directory, as an absolute path: a checkout's own
    folder under `make run`, the folder a service was started in when installed (never the
    installed package's folder)."""
    return f"sqlite:///{Path.cwd() / 'var' / 'content.db'}"


_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people write and pick the async driver ourselves.

    `sqlite:///var/x.db`, `postgres://u@h/db` and `postgresql+psycopg://...` all work; the
    driver part is replaced because the service only runs on aiosqlite and asyncpg.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            f"DATABASE_URL {url!r} is not a URL (expected sqlite:///... or postgresql://...)"
        )
    dialect = scheme.split("+", 1)[0].lower()
    if dialect not in _ASYNC_DRIVERS:
        raise ValueError(
            f"DATABASE_URL dialect {dialect!r} is not supported: use sqlite or postgresql"
        )
    return f"{_ASYNC_DRIVERS[dialect]}://{rest}"


class Settings(BaseSettings):
    """Configuration of the service. Every field is an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_database_url(value)


class SettingsError(ValueError):
    """Configuration that cannot work, said in one plain sentence."""


S = TypeVar("S", bound=Settings)


@overload
def load_settings(*, database_url: str | None = None) -> Settings: ...
@overload
def load_settings(kind: type[S], *, database_url: str | None = None) -> S: ...
def load_settings(kind: type[Settings] = Settings, *, database_url: str | None = None) -> Settings:
    """Settings of `kind` from the environment, with any explicit overrides; SettingsError
    if invalid, naming the variable."""
    try:
        return kind(database_url=database_url) if database_url else kind()
    except ValidationError as exc:
        raise SettingsError("; ".join(map(_message, exc.errors(include_url=False)))) from None


def _message(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")  # our validators name the variable
    return f"{'_'.join(map(str, error['loc'])).upper()}: {message}"
