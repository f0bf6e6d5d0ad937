"""The ICE servers handed to browsers and site agents: STUN as configured, and TURN through
coturn with short-lived credentials from its REST-API shared secret.

coturn's `use-auth-secret` mode (with `static-auth-secret=S`) accepts a username
"<expiry unix time>:<anything>" with the credential base64(HMAC-SHA1(S, username)) until that
time, and keeps allocations made before it. The hub holds S and issues these per client, so no
TURN password is ever configured, rendered or shared between clients. The SFU's own peer
connections never use TURN (rooms.participant.MediaOptions keeps STUN only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from hub.config import Settings
from hub.domain.guests import guest_of_seat


def turn_credential(secret: str, name: str, expires_at: int) -> tuple[str, str]:
    """coturn's time-limited credential for `name`: ("<expires_at>:<name>", base64 HMAC-SHA1)."""
    if ":" in name:
        # coturn reads the expiry up to the first separator; a name must not move it.
        raise ValueError(f"a TURN credential name may not contain ':' ({name!r})")
    username = f"{expires_at}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def credential_expiry(now: float, ttl_seconds: int) -> int:
    """When a credential issued at `now` expires: at least ttl_seconds later.

    The expiry is the end of a quarter-ttl window plus the ttl, so that one client's join page
    and join ack, issued moments apart, carry the same credential (the page's peer connection,
    already gathering with it, is then kept); a page older than a window gets a newer one in the
    ack and the client starts over with it.
    """
    window = max(1, ttl_seconds // 4)
    return (int(now) // window + 1) * window + ttl_seconds


def client_identity(user_id: int | None, office_id: int, *, join_token: bool = False) -> str:
    """Whom a credential is for, as coturn logs it: a signed-in user by user id; a join token's
    holder (a bridge point's PC, whoever issued the token) by its office; a guest by its
    guest id (its seat is the negative of it, hub.domain.guests)."""
    guest_id = guest_of_seat(office_id)
    if guest_id is not None:
        return f"guest-{guest_id}"
    if user_id is None or join_token:
        return f"site-{office_id}"
    return f"user-{user_id}"


def turn_urls(settings: Settings) -> list[str]:
    """The TURN URLs of every configured host: UDP and TCP on turn_port, TLS on turn_tls_port
    (networks that pass nothing but 443 still reach the relay)."""
    urls: list[str] = []
    for host in settings.turn_hosts:
        urls += [
            f"turn:{host}:{settings.turn_port}?transport=udp",
            f"turn:{host}:{settings.turn_port}?transport=tcp",
            f"turns:{host}:{settings.turn_tls_port}?transport=tcp",
        ]
    return urls


def client_ice_servers(
    settings: Settings, identity: str, now: float | None = None
) -> list[dict[str, str]]:
    """ICE servers in RTCConfiguration form for one client, TURN entries with its credential.

    The one list both the join page and the join ack hand out.
    """
    out: list[dict[str, str]] = []
    relays: list[str] = []
    for url in settings.ice_servers:
        if url.startswith(("turn:", "turns:")):
            relays.append(url)
        else:
            out.append({"urls": url})
    relays += turn_urls(settings)
    if relays:
        expires_at = credential_expiry(
            time.time() if now is None else now, settings.turn_ttl_seconds
        )
        username, credential = turn_credential(settings.turn_secret, identity, expires_at)
        out += [{"urls": url, "username": username, "credential": credential} for url in relays]
    return out
