"""operations analytics: tagged events, alerts; complaint categories renamed to the DESIGN codes

Revision ID: 0010e7a3c5f1
Revises: 0009d4b7e1a6
Create Date: 2026-12-12 09:00:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0010e7a3c5f1'
down_revision = '0009d4b7e1a6'
branch_labels = None
depends_on = None

LEGACY_CODES = {"locker_without_notice": "locker_no_notice", "refused_door_delivery": "no_door_delivery",
                "attitude": "courier_attitude", "fees": "extra_fee"}


def upgrade() -> None:
    op.create_table(
        'analytics_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_key', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('intent', sa.String(length=40), nullable=True),
        sa.Column('ticket_type', sa.String(length=32), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.String(length=128), nullable=True),
        sa.Column('tracking_number', sa.String(length=40), nullable=True),
        sa.Column('carrier', sa.String(length=16), nullable=True),
        sa.Column('province', sa.String(length=40), nullable=True),
        sa.Column('city', sa.String(length=40), nullable=True),
        sa.Column('district', sa.String(length=40), nullable=True),
        sa.Column('community', sa.String(length=60), nullable=True),
        sa.Column('outlet_code', sa.String(length=32), nullable=True),
        sa.Column('outlet_name', sa.String(length=120), nullable=True),
        sa.Column('hub_code', sa.String(length=32), nullable=True),
        sa.Column('hub_name', sa.String(length=120), nullable=True),
        sa.Column('route', sa.String(length=80), nullable=True),
        sa.Column('route_name', sa.String(length=250), nullable=True),
        sa.Column('goods_type', sa.String(length=16), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('example', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source_key'),
    )
    with op.batch_alter_table('analytics_events', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_events_time', ['occurred_at'], unique=False)
        batch_op.create_index('ix_analytics_events_category_time', ['category', 'occurred_at'], unique=False)
        batch_op.create_index('ix_analytics_events_area_time', ['community', 'occurred_at'], unique=False)
        batch_op.create_index('ix_analytics_events_outlet_time', ['outlet_code', 'occurred_at'], unique=False)
        batch_op.create_index('ix_analytics_events_route_time', ['route', 'occurred_at'], unique=False)
    op.create_table(
        'analytics_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('scope_type', sa.String(length=16), nullable=False),
        sa.Column('scope_key', sa.String(length=200), nullable=False),
        sa.Column('scope_name', sa.String(length=250), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('baseline', sa.Float(), nullable=False),
        sa.Column('p_value', sa.Float(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('suggested_action', sa.String(length=500), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('analytics_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_alerts_key_status', ['key', 'status'], unique=False)
        batch_op.create_index('ix_analytics_alerts_opened', ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_alerts_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_alerts_status'), ['status'], unique=False)
    _rename_categories(LEGACY_CODES)


def _rename_categories(mapping: dict) -> None:
    """Complaint tickets stored with the first version's category names get the DESIGN codes."""
    bind = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('type', sa.String),
                       sa.column('details', sa.JSON))
    rows = bind.execute(sa.select(tickets.c.id, tickets.c.details).where(tickets.c.type == 'complaint')).all()
    for ticket_id, details in rows:
        if isinstance(details, str):
            details = json.loads(details)
        category = (details or {}).get('category')
        if category in mapping:
            bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(
                details={**details, 'category': mapping[category]}))


def downgrade() -> None:
    _rename_categories({new: old for old, new in LEGACY_CODES.items()})
    with op.batch_alter_table('analytics_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_analytics_alerts_category'))
        batch_op.drop_index('ix_analytics_alerts_opened')
        batch_op.drop_index('ix_analytics_alerts_key_status')
    op.drop_table('analytics_alerts')
    with op.batch_alter_table('analytics_events', schema=None) as batch_op:
        for name in ('ix_analytics_events_route_time', 'ix_analytics_events_outlet_time',
                     'ix_analytics_events_area_time', 'ix_analytics_events_category_time',
                     'ix_analytics_events_time'):
            batch_op.drop_index(name)
    op.drop_table('analytics_events')
