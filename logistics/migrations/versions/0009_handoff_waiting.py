"""handoff waiting: the user's messages while waiting, why a handoff ended, the callback ticket of an expired wait

Revision ID: 0009d4b7e1a6
Revises: 0008c5e2a7b4
Create Date: 2026-12-10 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009d4b7e1a6'
down_revision = '0008c5e2a7b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('close_notice', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('callback_ticket_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('agent_ack_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key('fk_handoffs_callback_ticket_id_tickets', 'tickets', ['callback_ticket_id'],
                                    ['id'], ondelete='SET NULL')
    op.create_table(
        'handoff_user_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    with op.batch_alter_table('handoff_user_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_user_messages_handoff_id'), ['handoff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoff_user_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_user_messages_handoff_id'))
    op.drop_table('handoff_user_messages')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_handoffs_callback_ticket_id_tickets', type_='foreignkey')
        batch_op.drop_column('agent_ack_at')
        batch_op.drop_column('callback_ticket_id')
        batch_op.drop_column('close_notice')
        batch_op.drop_column('close_reason')
