"""What the signaling side tells GET /metrics (hub.metrics): the operators' board by state, the
link grades of the sites this process measures, and the media backend's rooms, participants and
forwarded tracks."""

from __future__ import annotations

from hub.metrics import Figures, FigureSource, site_state
from rooms.manager import RoomManager
from rooms.remote import WorkerBackend
from signaling.link_monitor import LinkMonitor
from signaling.server import SignalingServer


def signaling_figures(server: SignalingServer, monitor: LinkMonitor) -> FigureSource:
    """A figure source reading `server` and `monitor` at every scrape."""

    async def fill(figures: Figures) -> None:
        # The whole cluster's board when presence is shared through Redis, this process's
        # otherwise: the same snapshot operators get.
        for status in await server.presence.snapshot(""):
            state = site_state(status)
            figures.sites[state] = figures.sites.get(state, 0) + 1
        # Grades of the sites measured here: each node exports its own (a site's media is on
        # one node), and Prometheus puts the nodes' series together.
        for office_id, graded in monitor.grades().items():
            figures.site_grades[office_id] = graded.grade
        backend = server.rooms
        if isinstance(backend, RoomManager):
            stats = backend.stats()
            figures.rooms = len(stats.rooms)
            figures.participants = stats.participants
            figures.forwarded_tracks = stats.forwarded_tracks
            figures.frames_forwarded = stats.frames_forwarded
        elif isinstance(backend, WorkerBackend):
            # The workers' own reports (every worker this node sees: its children, and with
            # remote workers every worker registered in Redis); frames are not reported.
            loads = backend.channel_workers.values()
            figures.rooms = sum(load.rooms for load in loads)
            figures.participants = sum(load.participants for load in loads)
            figures.forwarded_tracks = sum(load.forwarded for load in loads)

    return fill
