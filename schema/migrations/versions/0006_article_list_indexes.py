"""indexes for the article list's new orders and filters

UPDATED order and `updatedAfter` (status, updated_at, id); case-insensitive TITLE order
(status, lower(title), id); `reviewOverdue` (status, next_review_due) and `reviewedAfter`
(status, reviewed_at). `reviewedBy` uses ix_article_reviewer_id, `publishedAfter/Before` the
keyset index of 0001.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain CREATE INDEX on both databases: SQLite's batch mode would copy the article table and
# lose the full-text search triggers of 0002.
def upgrade() -> None:
    op.create_index("ix_article_status_updated_at_id", "article", ["status", "updated_at", "id"])
    op.create_index(
        "ix_article_status_lower_title_id", "article", ["status", sa.text("lower(title)"), "id"]
    )
    op.create_index("ix_article_status_next_review_due", "article", ["status", "next_review_due"])
    op.create_index("ix_article_status_reviewed_at", "article", ["status", "reviewed_at"])


def downgrade() -> None:
    op.drop_index("ix_article_status_reviewed_at", table_name="article")
    op.drop_index("ix_article_status_next_review_due", table_name="article")
    op.drop_index("ix_article_status_lower_title_id", table_name="article")
    op.drop_index("ix_article_status_updated_at_id", table_name="article")
