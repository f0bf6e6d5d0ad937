"""The operators' site board (no network). Who waits and who moderates is
tests/hub/domain/test_hearing_roles.py's."""

from __future__ import annotations

import time

import pytest

from hub.services.live import Principal
from rooms.quality import Quality
from signaling import presence
from signaling.presence import SiteBoard

HOST, SITE, ABOVE = 5, 7, 1


def principal(role: str, office: int, user: int | None = 1) -> Principal:
    path = {ABOVE: "/1/", HOST: "/1/5/", SITE: "/1/5/7/"}.get(office, f"/{office}/")
    return Principal(user, "u", "U", role, office, f"Office {office}", office_path=path)


def test_site_board_states_scope_and_quality() -> None:
    board = SiteBoard()
    # An operator's board does not make its office look online.
    assert board.connect("op", principal("operator", ABOVE)) is None
    update = board.connect("kiosk", principal("staff", SITE))
    assert update is not None
    assert update.status["online"] and update.status["hearing_id"] is None
    assert update.rooms == ["operators:1", "operators:5", "operators:7"]
    update = board.in_hearing("kiosk", 3, "p1", "waiting")
    assert update is not None and update.status["state"] == "waiting"
    since = update.status["since"]
    # A second connection of the office, only connected: the one in the hearing is shown.
    assert board.connect("laptop", principal("leader", SITE)) is None
    update = board.measured("kiosk", "p1", Quality(rtt_ms=3.0, loss_pct=0.0, bitrate_kbps=900))
    assert update is not None and update.status["since"] == since
    assert update.status["bitrate_kbps"] == 900
    assert board.measured("laptop", "p1", Quality(None, None, None)) is None
    # Scope: the site's subtree and above see it; a sibling subtree does not.
    assert [s["office_id"] for s in board.snapshot("/1/5/")] == [SITE]
    assert board.snapshot("/2/") == []
    update = board.out_of_hearing("kiosk", "p1")
    assert update is not None and update.status["state"] is None and update.status["online"]
    assert board.disconnect("kiosk") is None  # the laptop keeps the office online
    update = board.disconnect("laptop")
    assert update is not None and update.status["online"] is False
    # A leader that starts watching while in no hearing stops counting.
    board.connect("lead", principal("leader", HOST))
    update = board.watching("lead")
    assert update is not None and update.status["online"] is False


def test_client_figures_go_out_with_the_next_status_while_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = SiteBoard()
    board.connect("kiosk", principal("staff", SITE))
    board.in_hearing("kiosk", 3, "p1", "admitted")
    figures = {"sent_width": 640, "sent_height": 480, "candidate_type": "host"}
    # Kept, not sent on their own: they ride on the hub's next measurement.
    assert board.client_measured("kiosk", "p1", figures) is True
    assert board.client_measured("kiosk", "p-old", figures) is False
    update = board.measured("kiosk", "p1", Quality(rtt_ms=3.0, loss_pct=0.0, bitrate_kbps=900))
    assert update is not None and update.status["client"] == figures
    assert board.snapshot("")[0]["client"] == figures
    # A browser that stopped sending: its last figures are no longer shown.
    later = time.monotonic() + presence.CLIENT_FIGURES_TTL + 1
    monkeypatch.setattr(presence.time, "monotonic", lambda: later)
    update = board.measured("kiosk", "p1", Quality(rtt_ms=3.0, loss_pct=0.0, bitrate_kbps=900))
    assert update is not None and update.status["client"] is None
    # A new seat starts without figures.
    board.client_measured("kiosk", "p1", figures)
    update = board.out_of_hearing("kiosk", "p1")
    assert update is not None and "client" not in update.status
