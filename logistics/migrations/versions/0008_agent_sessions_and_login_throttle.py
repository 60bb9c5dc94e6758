"""agent console: server-side sessions, login throttle, agent roles, transcripts frozen at close

Revision ID: 0008c5e2a7b4
Revises: 0007a1f3c9d2
Create Date: 2026-12-08 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008c5e2a7b4'
down_revision = '0007a1f3c9d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='agent', nullable=False))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_transcript', sa.JSON(), nullable=True))
    op.create_table(
        'agent_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)
    op.create_table(
        'agent_login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('success', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('agent_login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_agent_login_attempts_username_created', ['username', 'created_at'], unique=False)
        batch_op.create_index('ix_agent_login_attempts_ip_created', ['ip', 'created_at'], unique=False)
        batch_op.create_index('ix_agent_login_attempts_created', ['created_at'], unique=False)
    op.create_table(
        'agent_login_locks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('agent_login_locks', schema=None) as batch_op:
        batch_op.create_index('ix_agent_login_locks_scope_key_until', ['scope', 'key', 'locked_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_login_locks', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_login_locks_scope_key_until')
    op.drop_table('agent_login_locks')
    with op.batch_alter_table('agent_login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_login_attempts_created')
        batch_op.drop_index('ix_agent_login_attempts_ip_created')
        batch_op.drop_index('ix_agent_login_attempts_username_created')
    op.drop_table('agent_login_attempts')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))
    op.drop_table('agent_sessions')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_column('closed_transcript')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('role')
