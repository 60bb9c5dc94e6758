"""index tickets.shipment_id: a customer's tickets are found by their parcels every turn (issue #15)

Revision ID: 0011b2c4d6e8
Revises: 0010e7a3c5f1
Create Date: 2026-12-14 09:00:00
"""
from alembic import op

revision = '0011b2c4d6e8'
down_revision = '0010e7a3c5f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_shipment_id', 'tickets', ['shipment_id'])


def downgrade() -> None:
    op.drop_index('ix_tickets_shipment_id', table_name='tickets')
