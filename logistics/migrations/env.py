"""Alembic environment: runs on the engine handed over by logistics.migrate."""
from alembic import context

import logistics.models  # noqa: F401  (registers every table)
from logistics.db import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
