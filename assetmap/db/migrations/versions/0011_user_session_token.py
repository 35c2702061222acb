"""every account carries a session token: signing out, a new password or deactivation ends its sessions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Flask-Login's session and remember-me cookies name the account by ``<id>:<session_token>``, and a
request whose token is no longer the account's is signed out. Signing out, changing the password and
deactivating the account draw a new token, so every cookie issued before (on any device, for up to
the remember-me lifetime) stops working at once. Existing accounts get a token each here, which also
signs out every session made before this revision.
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS and "WHERE ... IS NULL": running it over a database that has it changes nothing
    op.execute("ALTER TABLE app_user ADD COLUMN IF NOT EXISTS session_token varchar(64)")
    # gen_random_uuid() is in core PostgreSQL from 13 on: two of them make a 64-character token
    op.execute("UPDATE app_user SET session_token = "
               "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '') WHERE session_token IS NULL")
    op.alter_column("app_user", "session_token", nullable=False)


def downgrade() -> None:
    op.drop_column("app_user", "session_token")
