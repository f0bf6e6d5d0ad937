"""The hub served on an ephemeral port for tests: what the `hub_server` fixture hands out."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from aiohttp import web

    from hub.config import Settings


@dataclass(frozen=True)
class HubServer:
    """A running hub: its base URL (authoritative; settings.port is not the bound port)."""

    url: str
    port: int
    settings: Settings
    app: web.Application | None  # None when the hub runs in a process of its own


class HubFactory(Protocol):
    """Starts a hub; keyword arguments override Settings fields (None leaves a field as is)."""

    async def __call__(self, *, prepare_db: bool = True, **overrides: Any) -> HubServer: ...


async def start_hub(
    settings: Settings, *, prepare_db: bool = True
) -> tuple[HubServer, web.AppRunner]:
    """Migrate and seed (unless prepare_db is false), then serve create_app on 127.0.0.1:0."""
    # Imported here so tests collect while these modules are still being written.
    from aiohttp import web

    from hub.app import create_app
    from hub.seed import seed_demo
    from hub.storage.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database_file = settings.data_dir / _DATABASE_FILE
    if prepare_db and not settings.database_url and not database_file.exists():
        shutil.copyfile(await _prepared_sqlite(settings), database_file)
    elif prepare_db:
        # PostgreSQL, or a database already there (a second hub on the first one's data).
        await upgrade(settings)
        await seed_demo(settings, password="demo")
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return HubServer(url=f"http://127.0.0.1:{port}", port=port, settings=settings, app=app), runner


# Migrated and seeded SQLite databases, one per Vietnamese calendar day (the demo records are
# dated from "today" there), copied for each hub instead of migrating and seeding again: the
# seed hashes every demo account's password, about a second per hub, and hundreds of tests
# start one. A copy is the same file a fresh seed would write, minus its creation times.
_TEMPLATES: dict[str, Path] = {}
_TEMPLATES_LOCK = threading.Lock()
_DATABASE_FILE = "tcd-hub.sqlite3"


async def _prepared_sqlite(settings: Settings) -> Path:
    """Today's migrated and seeded SQLite file (made on first use)."""
    from hub.seed import seed_demo
    from hub.storage.migrate import upgrade

    day = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(day)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="tcd-hub-test-template-"))
        atexit.register(shutil.rmtree, folder, True)
        prepared = settings.with_overrides(data_dir=folder)
        await upgrade(prepared)
        await seed_demo(prepared, password="demo")
        with _TEMPLATES_LOCK:
            template = _TEMPLATES.setdefault(day, folder / _DATABASE_FILE)
    return template
