"""moderation: change requests, reminder log, append-only revisions, trigram matching

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # similarity() for the "is this a duplicate?" check (trusted extension since PostgreSQL 13).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("problem_type", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("submitter_email", sa.String(length=254), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('new', 'change', 'problem')", name="ck_change_request_kind"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_change_request_status"),
        sa.CheckConstraint(
            "problem_type IS NULL OR problem_type IN ('closed', 'wrong_details', 'wrong_place', 'other')",
            name="ck_change_request_problem_type",
        ),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_request_status", "change_request", ["status", "created_at"])
    op.create_index("ix_change_request_asset", "change_request", ["asset_id"])

    op.create_table(
        "asset_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("stage IN ('first', 'reminder', 'urgent')", name="ck_asset_reminder_stage"),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_asset_reminder_asset", "asset_reminder", ["asset_id", "sent_at"])

    # History is append-only: a revision row is never changed or removed.
    op.execute(
        """
        CREATE FUNCTION revision_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'revision rows are append-only (% refused)', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER revision_append_only BEFORE UPDATE OR DELETE ON revision "
        "FOR EACH ROW EXECUTE FUNCTION revision_is_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS revision_append_only ON revision")
    op.execute("DROP FUNCTION IF EXISTS revision_is_append_only()")
    op.drop_index("ix_asset_reminder_asset", table_name="asset_reminder")
    op.drop_table("asset_reminder")
    op.drop_index("ix_change_request_asset", table_name="change_request")
    op.drop_index("ix_change_request_status", table_name="change_request")
    op.drop_table("change_request")
