"""articles' own licence and attribution (null: the service's defaults)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:10:06.949828
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases: SQLite's batch mode would copy the article table
# and lose the full-text search triggers of 0002.
def upgrade() -> None:
    op.add_column("article", sa.Column("license", sa.JSON(), nullable=True))
    op.add_column("article", sa.Column("attribution", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE article DROP COLUMN attribution")
    op.execute("ALTER TABLE article DROP COLUMN license")
