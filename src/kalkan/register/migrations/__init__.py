"""Alembic migrations of the register's schema (run by ``kalkan.register.db.migrate``)."""
