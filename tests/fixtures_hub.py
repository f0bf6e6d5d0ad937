"""The hub served on an ephemeral port for tests: what the `hub_server` fixture hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

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
    if prepare_db:
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
