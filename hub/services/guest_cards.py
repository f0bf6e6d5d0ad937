"""A guest's personal link as people use it: the URL it opens and its QR code for the printed
invitation card. The QR code is made by segno (pure Python, SVG out: no image library)."""

from __future__ import annotations

import asyncio

import segno

# The guest page's path; the token follows it.
GUEST_PATH = "/guest/"


def join_url(origin: str, token: str) -> str:
    """The link a guest opens: the hub's origin (scheme and host, no slash at the end)."""
    return f"{origin.rstrip('/')}{GUEST_PATH}{token}"


def qr_svg_uri(url: str) -> str:
    """The QR code of `url` as a data:image/svg+xml URI (error correction M: a printed card
    that is creased or smudged still scans)."""
    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=6, border=4))


async def qr_svg_uri_off_loop(url: str) -> str:
    """qr_svg_uri() on a worker thread: a few ms of CPU, kept off the loop carrying media."""
    return await asyncio.to_thread(qr_svg_uri, url)
