"""Services against real storage: SQLite and PostgreSQL, migrated by Alembic."""
