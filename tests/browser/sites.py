"""Sites as the browser tests drive them: one signed-in Chromium context per bridge point.

A `SitePage` is one office's browser on the hearing join page; `HubApi` is the staff member who
schedules and starts the hearing over the JSON API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page

CHROMIUM_EXECUTABLE = "/usr/bin/chromium"
# Fake camera and microphone, no permission prompt; the rest keeps Chromium from reaching out to
# the network or spending the small machine's CPU on things the tests do not use.
CHROMIUM_ARGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
PASSWORD = "demo"
VN = timezone(timedelta(hours=7))

# What a user sees in each remote tile, read in one evaluation so the samples are consistent.
_REMOTE_TILES_JS = """() => [...document.querySelectorAll('.tile--remote')].map((tile) => {
  const video = tile.querySelector('video');
  const note = tile.querySelector('.tile__link');
  return {
    participant_id: tile.dataset.participantId,
    office_id: tile.dataset.officeId,
    office_name: tile.dataset.officeName,
    label: tile.querySelector('.tile__office').textContent,
    link: tile.dataset.link,
    note: note.hidden ? '' : note.textContent,
    has_stream: video.srcObject !== null,
    video_shown: getComputedStyle(video).visibility !== 'hidden',
    width: video.videoWidth,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
  };
})"""

# True once every expected participant's tile shows decoded video.
_PLAYING_JS = """(ids) => ids.every((id) => {
  const tile = document.querySelector(`.tile--remote[data-participant-id="${id}"]`);
  if (!tile) return false;
  const video = tile.querySelector('video');
  return video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
})"""

_TIMINGS_JS = """() => ({
  joinCalled: window.tcdJoin.client.timings.joinCalled ?? null,
  admitted: window.tcdJoin.client.timings.admitted ?? null,
  timings: window.tcdJoin.client.timings,
  firstRemoteFrame: window.tcdJoin.metrics.firstRemoteFrame,
  byParticipant: window.tcdJoin.metrics.firstFrameByParticipant,
})"""


# Four Chromiums each encoding a 640x480 fake camera and decoding three remote ones, plus the
# hub, on a 2-core machine starve the hub's event loop for hundreds of ms (measured: a join
# handled in 5 ms took 540 ms while the browsers were busy). Real sites each have their own
# PC, so the tests cap the fake camera at 320x240, 15 fps; the page's own code is unchanged
# (this only narrows what getUserMedia is asked for). `tcd-hub bench sfu` measures the hub
# at 640x480 and about 1 Mbps.
CAMERA_CAP = """
(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => {
    if (constraints && constraints.video) {
      const base = typeof constraints.video === "object" ? constraints.video : {};
      constraints = {
        ...constraints,
        video: { ...base, width: { ideal: 320 }, height: { ideal: 240 },
                 frameRate: { ideal: 15 } },
      };
    }
    return original(constraints);
  };
})();
"""


@dataclass(frozen=True)
class JoinTiming:
    """Join-to-first-remote-frame of one browser, in ms (page clock)."""

    site: str
    # From HearingClient.join() (socket, camera, join, offer) to the first decoded remote frame;
    # for a site that waited in the waiting room, from its admission.
    from_join_ms: float
    # From navigation start (page load and scripts included) to the same frame.
    from_page_open_ms: float
    # From join() until every participant present at join time showed a frame.
    all_remotes_ms: float
    remotes: int
    # Time spent in the waiting room (0 for a site let in at once).
    waited_ms: float
    steps: dict[str, float]


@dataclass
class SitePage:
    """One office's browser context, signed in, on the hearing join page."""

    username: str
    user: dict[str, Any]
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    participant_id: str | None = None
    # "admitted", or "waiting" (the waiting room) until a moderator lets this site in.
    admission: str | None = None

    @property
    def office_name(self) -> str:
        return str(self.user["office_name"])

    @classmethod
    async def open(
        cls, browser: Browser, base_url: str, username: str, *, camera: bool = True
    ) -> SitePage:
        """A fresh context signed in as `username` through the API (sets the session cookie).
        camera=False leaves out the fake camera's cap, which needs navigator.mediaDevices: a
        page that is not a secure context (plain HTTP off localhost) has none."""
        context = await browser.new_context(base_url=base_url)
        if camera:
            await context.add_init_script(CAMERA_CAP)
        response = await context.request.post(
            "/api/v1/auth/login", data={"username": username, "password": PASSWORD}
        )
        assert response.ok, f"sign-in as {username}: {response.status} {await response.text()}"
        user = (await response.json())["user"]
        page = await context.new_page()
        site = cls(username=username, user=user, context=context, page=page)
        page.on("console", site._on_console)
        page.on("pageerror", lambda error: site.console_errors.append(f"page error: {error}"))
        return site

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"console.error: {message.text} ({message.location})")

    async def join(self, hearing_id: int, timeout_ms: float = 15_000, query: str = "") -> None:
        """Open the join page (with `query`, e.g. "?video_codec=h264") and wait until the hub
        has admitted this site."""
        await self.page.goto(f"/hearings/{hearing_id}/join{query}")
        await self.page.wait_for_function(
            "() => ['joined', 'failed'].includes(document.getElementById('hearing').dataset.state)",
            timeout=timeout_ms,
        )
        state = await self.page.get_attribute("#hearing", "data-state")
        status = await self.page.text_content("#hearing-status")
        assert state == "joined", f"{self.username} could not join: {status}"
        self.participant_id = await self.page.get_attribute("#local-tile", "data-participant-id")
        assert self.participant_id, f"{self.username}: no participant id after joining"
        self.admission = await self.page.get_attribute("#hearing", "data-admission")

    async def admit(self, participant_id: str, timeout_ms: float = 10_000) -> None:
        """As a moderator, let a site in from the waiting room with its tile's button."""
        tile = f'.tile--remote[data-participant-id="{participant_id}"]'
        await self.page.click(f"{tile} .tile__admit", timeout=timeout_ms)
        await self.page.wait_for_selector(f'{tile}[data-state="admitted"]', timeout=timeout_ms)

    async def wait_admitted(self, timeout_ms: float = 10_000) -> None:
        """Wait until this site's page says it is in the hearing (not the waiting room)."""
        await self.page.wait_for_selector("#hearing[data-admission=admitted]", timeout=timeout_ms)
        self.admission = "admitted"

    async def remote_tiles(self) -> list[dict[str, Any]]:
        """The remote tiles as shown: participant id, office label, video size, frames decoded."""
        tiles: list[dict[str, Any]] = await self.page.evaluate(_REMOTE_TILES_JS)
        return tiles

    async def video_codecs(self) -> dict[str, list[str]]:
        """The video codecs this page's peer connection sends and decodes, by its stats."""
        codecs: dict[str, list[str]] = await self.page.evaluate(_VIDEO_CODECS_JS)
        return codecs

    async def wait_playing(self, participant_ids: list[str], timeout_ms: float = 10_000) -> None:
        """Wait until each of these participants' tiles has shown a decoded frame."""
        try:
            await self.page.wait_for_function(_PLAYING_JS, arg=participant_ids, timeout=timeout_ms)
        except Error as error:
            tiles = await self.remote_tiles()
            raise AssertionError(
                f"{self.username}: no video from {participant_ids} after {timeout_ms} ms; "
                f"tiles: {tiles}"
            ) from error

    async def wait_tile_gone(self, participant_id: str, timeout_ms: float = 10_000) -> None:
        """Wait until the tile of this participant has left the page."""
        selector = f'.tile--remote[data-participant-id="{participant_id}"]'
        await self.page.wait_for_selector(selector, state="detached", timeout=timeout_ms)

    async def office_tile(
        self, office_id: int, link: str, timeout_ms: float = 10_000
    ) -> dict[str, Any]:
        """Wait until an office's tile says `link` (connected, reconnecting, dropped, absent);
        the tile as remote_tiles() reads it."""
        selector = f'.tile--remote[data-office-id="{office_id}"][data-link="{link}"]'
        try:
            await self.page.wait_for_selector(selector, state="attached", timeout=timeout_ms)
        except Error as error:
            tiles = await self.remote_tiles()
            raise AssertionError(
                f"{self.username}: no {link} tile of office {office_id}; tiles: {tiles}"
            ) from error
        (tile,) = [
            t
            for t in await self.remote_tiles()
            if t["office_id"] == str(office_id) and t["link"] == link
        ]
        return tile

    async def frame_counts(self) -> dict[str, int]:
        """participant_id -> frames decoded so far by that participant's <video>."""
        return {t["participant_id"]: t["frames"] for t in await self.remote_tiles()}

    async def join_timing(self, expected_remotes: list[str]) -> JoinTiming:
        """Join-to-first-remote-frame figures, read from the page's own clock."""
        # The frame callback that stamps a tile runs at the next rendering step, which can come
        # a moment after the frame counter moved.
        await self.page.wait_for_function(
            "(ids) => ids.every((id) => id in window.tcdJoin.metrics.firstFrameByParticipant)",
            arg=expected_remotes,
            timeout=5_000,
        )
        data = await self.page.evaluate(_TIMINGS_JS)
        first = data["firstRemoteFrame"]
        called = data["joinCalled"]
        assert first is not None and called is not None, f"{self.username}: no remote frame yet"
        assert self.admission == "admitted", f"{self.username}: still in the waiting room"
        # Set only for a site that waited: then the hearing starts for it at its admission.
        start = data["admitted"] if data["admitted"] is not None else called
        by_participant = data["byParticipant"]
        last = max(by_participant[pid] for pid in expected_remotes)
        steps = {k: round(v - called, 1) for k, v in data["timings"].items() if v is not None}
        return JoinTiming(
            site=self.username,
            from_join_ms=first - start,
            from_page_open_ms=first,
            all_remotes_ms=last - start,
            remotes=len(expected_remotes),
            waited_ms=start - called,
            steps=steps,
        )

    async def leave(self) -> None:
        """Press "Rời phiên" and wait for the page to say so."""
        await self.page.click("#btn-leave")
        await self.page.wait_for_selector("#hearing[data-state=left]", timeout=5_000)

    async def close(self) -> None:
        await self.context.close()


async def frames_keep_rising(
    sites: list[SitePage], expected: dict[str, list[str]], interval_s: float = 1.0
) -> dict[str, dict[str, tuple[int, int]]]:
    """Sample every site's remote frame counts twice; return the pairs that did not rise.

    `expected` maps a site's username to the participant ids whose video it must be playing.
    """
    first = await asyncio.gather(*(site.frame_counts() for site in sites))
    await asyncio.sleep(interval_s)
    second = await asyncio.gather(*(site.frame_counts() for site in sites))
    stuck: dict[str, dict[str, tuple[int, int]]] = {}
    for site, before, after in zip(sites, first, second, strict=True):
        for pid in expected[site.username]:
            pair = (before.get(pid, 0), after.get(pid, 0))
            if pair[1] <= pair[0]:
                stuck.setdefault(site.username, {})[pid] = pair
    return stuck


class HubApi:
    """The JSON API as a staff member uses it, with a bearer token (no cookie, so no CSRF)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self._session = session
        self._token = ""
        self.user: dict[str, Any] = {}

    @property
    def token(self) -> str:
        """The bearer token of the last sign-in (a site agent joins with it)."""
        return self._token

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Any API call as this user; the decoded answer (a status of 300 or more fails)."""
        return await self._call(method, path, body)

    async def login(self, username: str) -> dict[str, Any]:
        body = await self._call(
            "POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD}
        )
        self._token = body["token"]
        self.user = body["user"]
        return self.user

    async def live_hearing(
        self, title: str, host_office_id: int, site_office_ids: list[int]
    ) -> int:
        """Schedule an ad hoc hearing starting now with these sites, start it; its id."""
        starts = datetime.now(VN).replace(microsecond=0)
        hearing = await self._call(
            "POST",
            "/api/v1/hearings",
            {
                "title": title,
                "kind": "adhoc",
                "host_office_id": host_office_id,
                "site_office_ids": site_office_ids,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
            },
        )
        hearing_id = int(hearing["id"])
        started = await self._call("POST", f"/api/v1/hearings/{hearing_id}/start")
        assert started["status"] == "live", started
        return hearing_id

    async def join_token(self, hearing_id: int, office_id: int) -> str:
        body = await self._call(
            "POST", f"/api/v1/hearings/{hearing_id}/join-token", {"office_id": office_id}
        )
        return str(body["token"])

    async def offices_by_code(self) -> dict[str, dict[str, Any]]:
        body = await self._call("GET", "/api/v1/offices")
        return {office["code"]: office for office in body["items"]}

    async def log(self, hearing_id: int) -> list[dict[str, Any]]:
        """The hearing's session log, oldest first, as the API gives it."""
        body = await self._call("GET", f"/api/v1/hearings/{hearing_id}/log")
        return list(body["items"])

    async def get(self, path: str) -> Any:
        """GET an API path as this user (asserting a 2xx answer)."""
        return await self._call("GET", path)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with self._session.request(
            method, self.base_url + path, json=body, headers=headers
        ) as response:
            payload = await response.json()
            assert response.status < 300, f"{method} {path}: {response.status} {payload}"
            return payload


# Opens a browser context signed in as the given demo user (the `open_site` fixture).
OpenSite = Callable[[str], Awaitable["SitePage"]]


_VIDEO_CODECS_JS = """async () => {
  const report = await window.tcdJoin.client._pc.getStats();
  const mime = {};
  report.forEach((s) => { if (s.type === "codec") mime[s.id] = s.mimeType.toLowerCase(); });
  const out = { sent: [], decoded: [] };
  report.forEach((s) => {
    if (s.kind !== "video" || !s.codecId) return;
    if (s.type === "outbound-rtp" && s.framesEncoded > 0) out.sent.push(mime[s.codecId]);
    if (s.type === "inbound-rtp" && s.framesDecoded > 0) out.decoded.push(mime[s.codecId]);
  });
  return out;
}"""
