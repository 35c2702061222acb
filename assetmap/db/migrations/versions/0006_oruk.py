"""oruk: Open Referral UK identifiers for imported services, taxonomies, and bulk uploads

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An asset is one HSDS service at one location. Assets made here need no row: their ids are
    # derived from asset.uuid. Imported services keep the publisher's ids, and one service at
    # several locations (several assets) shares one service_uuid.
    op.create_table(
        "oruk_service_at_location",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("service_uuid", sa.Uuid(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("location_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id"),
        sa.UniqueConstraint("uuid", name="uq_oruk_service_at_location_uuid"),
    )
    op.create_index("ix_oruk_sal_service", "oruk_service_at_location", ["service_uuid"])
    op.create_index("ix_oruk_sal_location", "oruk_service_at_location", ["location_uuid"])

    # A vocabulary imported from a feed keeps its taxonomy id and name; the project's own
    # vocabularies need no row.
    op.create_table(
        "oruk_taxonomy",
        sa.Column("vocabulary", sa.String(length=50), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("uri", sa.String(length=500), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("vocabulary"),
        sa.UniqueConstraint("uuid", name="uq_oruk_taxonomy_uuid"),
    )

    op.create_table(
        "bulk_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(length=30), nullable=True),
        sa.Column("source_key", sa.String(length=60), nullable=False),
        sa.Column("header", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rows", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("file_notes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("state", sa.String(length=20), server_default="uploaded", nullable=False),
        sa.Column("check_report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("progress_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("import_run_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('uploaded', 'checked', 'committing', 'committed', 'failed')", name="ck_bulk_upload_state"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["import_run_id"], ["import_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulk_upload_user", "bulk_upload", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bulk_upload_user", table_name="bulk_upload")
    op.drop_table("bulk_upload")
    op.drop_table("oruk_taxonomy")
    op.drop_index("ix_oruk_sal_location", table_name="oruk_service_at_location")
    op.drop_index("ix_oruk_sal_service", table_name="oruk_service_at_location")
    op.drop_table("oruk_service_at_location")
