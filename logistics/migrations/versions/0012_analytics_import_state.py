"""analytics import state: how far the conversation importer has read Rasa's tracker store

Revision ID: 0012c8e1a4f7
Revises: 0011b2c4d6e8
Create Date: 2026-12-14 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012c8e1a4f7'
down_revision = '0011b2c4d6e8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'analytics_import_state',
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('source'),
    )


def downgrade() -> None:
    op.drop_table('analytics_import_state')
