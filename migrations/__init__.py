"""Alembic migrations for the metadata DB.

HEAD names the newest revision so opening a DB that is already current can skip importing
Alembic (start-up time); tests/engine/test_migrations.py proves it matches Alembic's head."""

HEAD = "0006"
