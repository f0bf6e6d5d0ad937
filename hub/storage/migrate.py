"""Schema migrations with Alembic, runnable from the CLI and from tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from hub.config import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the settings' database to `revision` (creating the SQLite file if needed)."""
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(settings.effective_database_url)
    # env.py runs its own event loop, so it must not share ours: run it in a thread.
    await asyncio.to_thread(command.upgrade, cfg, revision)
