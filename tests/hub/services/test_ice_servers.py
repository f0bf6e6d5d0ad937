"""TURN credentials as coturn's REST API (use-auth-secret) checks them, and the one ICE server
list that the join page and the join ack hand out."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hub.config import Settings
from hub.services.ice_servers import (
    client_ice_servers,
    client_identity,
    credential_expiry,
    turn_credential,
)

SECRET = "north-secret"


def test_credential_is_coturns_hmac_of_the_timed_username() -> None:
    username, credential = turn_credential(SECRET, "user-7", 1_700_000_000)
    assert username == "1700000000:user-7"
    # Known answer, from `printf '%s' 1700000000:user-7 | openssl dgst -sha1 -hmac north-secret
    # -binary | base64`: an implementation other than the hub's.
    assert credential == "s917nDYf9mPn6Hr5oAdfy7vmDts="
    # coturn's check: base64(HMAC-SHA1(static-auth-secret, username)).
    digest = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential) == digest
    # Another secret, name or expiry gives another credential.
    assert turn_credential("other", "user-7", 1_700_000_000)[1] != credential
    assert turn_credential(SECRET, "user-8", 1_700_000_000)[1] != credential
    assert turn_credential(SECRET, "user-7", 1_700_000_001)[1] != credential


def test_a_name_cannot_move_the_expiry() -> None:
    with pytest.raises(ValueError, match="':'"):
        turn_credential(SECRET, "9999999999:x", 1_700_000_000)


@pytest.mark.parametrize("ttl", [1, 60, 3600, 86400])
def test_expiry_is_at_least_the_ttl_and_stable_within_a_window(ttl: int) -> None:
    window = max(1, ttl // 4)
    start = 1_700_000_000 - 1_700_000_000 % window  # the first second of a window
    expiries = {credential_expiry(start + s, ttl) for s in range(window)}
    assert len(expiries) == 1, "moments apart, one client got two credentials"
    (expiry,) = expiries
    for second in range(window):
        assert ttl <= expiry - (start + second) <= ttl + window
    assert credential_expiry(start + window, ttl) == expiry + window


def test_identity_names_the_user_or_the_join_tokens_site() -> None:
    assert client_identity(12, 3) == "user-12"
    assert client_identity(None, 3) == "site-3"
    assert client_identity(12, 3, join_token=True) == "site-3"  # the token's issuer is not it


def test_turn_over_udp_tcp_and_tls_for_every_host_with_one_credential() -> None:
    settings = Settings(
        ice_servers=("stun:stun.example.vn:3478",),
        turn_hosts=("turn1.example.vn", "[2001:db8::5]"),
        turn_secret=SECRET,
        turn_ttl_seconds=3600,
    )
    servers = client_ice_servers(settings, "user-12", now=1_700_000_100)
    assert servers[0] == {"urls": "stun:stun.example.vn:3478"}
    turn = servers[1:]
    assert [s["urls"] for s in turn] == [
        "turn:turn1.example.vn:3478?transport=udp",
        "turn:turn1.example.vn:3478?transport=tcp",
        "turns:turn1.example.vn:443?transport=tcp",
        "turn:[2001:db8::5]:3478?transport=udp",
        "turn:[2001:db8::5]:3478?transport=tcp",
        "turns:[2001:db8::5]:443?transport=tcp",
    ]
    expiry = credential_expiry(1_700_000_100, 3600)
    username, credential = turn_credential(SECRET, "user-12", expiry)
    assert all(s["username"] == username and s["credential"] == credential for s in turn)


def test_a_turn_url_given_as_is_gets_the_credential_and_stun_alone_none() -> None:
    settings = Settings(ice_servers=("turn:relay.example.vn:3478",), turn_secret=SECRET)
    (server,) = client_ice_servers(settings, "site-4", now=1_700_000_000)
    assert server["urls"] == "turn:relay.example.vn:3478"
    assert server["username"].endswith(":site-4")
    assert client_ice_servers(Settings(ice_servers=("stun:s.example.vn",)), "user-1") == [
        {"urls": "stun:s.example.vn"}
    ]
    assert client_ice_servers(Settings(), "user-1") == []
