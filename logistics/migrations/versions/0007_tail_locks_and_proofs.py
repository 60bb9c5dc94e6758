"""tail locks per number and address, conversation proofs, tickets shared by conversations

Revision ID: 0007a1f3c9d2
Revises: 7e6653bc61c8
Create Date: 2026-12-08 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007a1f3c9d2'
down_revision = '7e6653bc61c8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tail_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_tail_attempts_address', ['client_address', 'failed_at'], unique=False)
    op.create_table(
        'conversation_proofs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=128), nullable=False),
        sa.Column('tracking_number', sa.String(length=40), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('proven_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('conversation_id', 'tracking_number', name='uq_conversation_proofs'),
    )
    with op.batch_alter_table('conversation_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_proofs_tracking_number'), ['tracking_number'],
                              unique=False)
    op.create_table(
        'ticket_conversations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=128), nullable=False),
        sa.Column('linked_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'conversation_id', name='uq_ticket_conversations'),
    )
    with op.batch_alter_table('ticket_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_conversations_conversation_id'), ['conversation_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_conversations_conversation_id'))
    op.drop_table('ticket_conversations')
    with op.batch_alter_table('conversation_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_proofs_tracking_number'))
    op.drop_table('conversation_proofs')
    with op.batch_alter_table('tail_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_tail_attempts_address')
        batch_op.drop_column('client_address')
