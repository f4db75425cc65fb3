"""full-text search over articles

SQLite: an FTS5 table over title, summary and body text (porter stemming), kept in step with
`article` by triggers. PostgreSQL: a stored, weighted tsvector column with a GIN index.
Neither is in the SQLModel metadata (they are database-specific), so env.py tells
autogenerate to leave them alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE article_search USING fts5(
        title, summary, body_text,
        content='article', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER article_search_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_search(rowid, title, summary, body_text)
        VALUES (new.id, new.title, coalesce(new.summary, ''), new.body_text);
    END""",
    """CREATE TRIGGER article_search_delete AFTER DELETE ON article BEGIN
        INSERT INTO article_search(article_search, rowid, title, summary, body_text)
        VALUES ('delete', old.id, old.title, coalesce(old.summary, ''), old.body_text);
    END""",
    """CREATE TRIGGER article_search_update AFTER UPDATE OF title, summary, body_text
        ON article BEGIN
        INSERT INTO article_search(article_search, rowid, title, summary, body_text)
        VALUES ('delete', old.id, old.title, coalesce(old.summary, ''), old.body_text);
        INSERT INTO article_search(rowid, title, summary, body_text)
        VALUES (new.id, new.title, coalesce(new.summary, ''), new.body_text);
    END""",
    "INSERT INTO article_search(article_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER article_search_update",
    "DROP TRIGGER article_search_delete",
    "DROP TRIGGER article_search_insert",
    "DROP TABLE article_search",
]
POSTGRES_UP = [
    """ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
        || setweight(to_tsvector('english', body_text), 'C')) STORED""",
    "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX ix_article_search_vector",
    "ALTER TABLE article DROP COLUMN search_vector",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN)
