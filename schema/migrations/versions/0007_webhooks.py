"""webhooks: endpoints, their deliveries, the fan-out's place in the outbox; public changes

`change.public` says whether the item was public before or after the change (webhooks and
the public `changes` feed tell of those only); rows written before it are public when they
invalidated a list (their tags carry `list:`), which is what the flag meant then too.
`change.canonical_url` is the article's own canonical URL at that version, if any.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:19:34.835604
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_cursor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_cursor")),
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("since_change_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_delivery_status"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook.id"],
            name=op.f("fk_webhook_delivery_webhook_id_webhook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("message_id", name=op.f("uq_webhook_delivery_message_id")),
        sa.UniqueConstraint(
            "webhook_id", "change_id", name=op.f("uq_webhook_delivery_webhook_id_change_id")
        ),
    )
    op.create_index(
        "ix_webhook_delivery_status_next_attempt_at",
        "webhook_delivery",
        ["status", "next_attempt_at"],
    )
    # Plain ALTER TABLE (no batch copy) on both databases. Not public unless said so (fail
    # closed: a row written without it is told to nobody); the rows already there are
    # filled in below.
    op.add_column(
        "change", sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "change",
        sa.Column("canonical_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    )
    op.execute("UPDATE change SET public = (tags LIKE '%list:%')")
    # The fan-out starts after what is already in the outbox (no webhook existed to hear it).
    op.execute(
        "INSERT INTO outbox_cursor (name, change_id) "
        "SELECT 'webhooks', COALESCE(MAX(id), 0) FROM change"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE change DROP COLUMN canonical_url")
    op.execute("ALTER TABLE change DROP COLUMN public")
    op.drop_index("ix_webhook_delivery_status_next_attempt_at", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    op.drop_table("outbox_cursor")
