"""change outbox: every write appends what it changed, in its own transaction

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:53:08.759279
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'published', 'unpublished', 'archived', 'deleted')",
            name=op.f("ck_change_action"),
        ),
        sa.CheckConstraint(
            "entity IN ('Article', 'Topic', 'Expert')", name=op.f("ck_change_entity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )


def downgrade() -> None:
    op.drop_table("change")
