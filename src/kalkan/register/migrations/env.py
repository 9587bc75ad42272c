"""Alembic environment: runs the migrations on the connection ``kalkan.register.db.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from kalkan.register.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the register always passes its own connection
    raise RuntimeError("Run the register's migrations through kalkan.register.db.migrate(engine).")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
)
with context.begin_transaction():
    context.run_migrations()
