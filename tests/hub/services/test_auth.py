"""Join tokens and password hashing (no database needed); the limiter has test_login_limiter."""

from __future__ import annotations

import time

import pytest

from hub.domain.errors import Unauthorized
from hub.services.auth import (
    JoinClaims,
    hash_password,
    issue_join_token,
    verify_join_token,
    verify_password,
)

SECRET = "join-secret"


def claims(expires_in: int = 3600) -> JoinClaims:
    return JoinClaims(
        hearing_id=7, office_id=2, user_id=5, expires_at=int(time.time()) + expires_in
    )


def test_a_join_token_round_trips_its_claims() -> None:
    granted = claims()
    assert verify_join_token(SECRET, issue_join_token(SECRET, granted)) == granted


def test_a_join_token_signed_with_another_secret_is_refused() -> None:
    token = issue_join_token("another-hub", claims())
    with pytest.raises(Unauthorized, match="signature"):
        verify_join_token(SECRET, token)


def test_a_tampered_join_token_is_refused() -> None:
    token = issue_join_token(SECRET, claims())
    prefix, _, sig = token.split(".")
    forged = issue_join_token(SECRET, JoinClaims(8, 2, 5, claims().expires_at)).split(".")[1]
    with pytest.raises(Unauthorized):
        verify_join_token(SECRET, f"{prefix}.{forged}.{sig}")


def test_an_expired_join_token_is_refused() -> None:
    token = issue_join_token(SECRET, claims(expires_in=-1))
    with pytest.raises(Unauthorized, match="expired"):
        verify_join_token(SECRET, token)


@pytest.mark.parametrize("token", ["", "j.", "abc", "j.a.b.c", "x.eyJ9.sig"])
def test_malformed_join_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        verify_join_token(SECRET, token)


def test_passwords_are_hashed_with_argon2_and_checked() -> None:
    hashed = hash_password("mật khẩu")
    assert hashed.startswith("$argon2id$") and "mật khẩu" not in hashed
    assert verify_password(hashed, "mật khẩu")
    assert not verify_password(hashed, "mat khau")
    assert not verify_password("not a hash", "mật khẩu")
