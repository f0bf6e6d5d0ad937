"""Settings from the environment and flags: the ICE port range and TURN, refused clearly when
wrong."""

from __future__ import annotations

import pytest

from hub.cli import main
from hub.config import Settings, SettingsError, parse_port_range, settings_from_env


def test_udp_port_range_from_the_environment() -> None:
    assert settings_from_env({}).ice_udp_ports is None
    settings = settings_from_env({"TCD_ICE_UDP_PORTS": " 40000-40199 "})
    assert settings.ice_udp_ports == (40000, 40199)
    assert parse_port_range("5000-5000") == (5000, 5000)


@pytest.mark.parametrize("value", ["40000", "40199-40000", "0-10", "40000-70000", "a-b", "-"])
def test_a_bad_port_range_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="TCD_ICE_UDP_PORTS"):
        settings_from_env({"TCD_ICE_UDP_PORTS": value})


def test_turn_settings_from_the_environment() -> None:
    settings = settings_from_env(
        {
            "TCD_TURN_HOSTS": "turn1.example.vn, [2001:db8::5]",
            "TCD_TURN_SECRET": "s3cret",
            "TCD_TURN_PORT": "3479",
            "TCD_TURN_TLS_PORT": "5349",
            "TCD_TURN_TTL_SECONDS": "600",
        }
    )
    assert settings.turn_hosts == ("turn1.example.vn", "[2001:db8::5]")
    assert (settings.turn_port, settings.turn_tls_port, settings.turn_ttl_seconds) == (
        3479,
        5349,
        600,
    )
    assert "s3cret" not in repr(settings)


def test_turn_without_its_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="TCD_TURN_SECRET"):
        settings_from_env({"TCD_TURN_HOSTS": "turn.example.vn"})
    with pytest.raises(SettingsError, match="turn_secret"):
        Settings(ice_servers=("turn:turn.example.vn:3478",))
    Settings(ice_servers=("stun:stun.example.vn:3478",))  # STUN needs none


@pytest.mark.parametrize(
    "host", ["turn:turn.example.vn", "turn.example.vn:3478", "2001:db8::5", "a b", ""]
)
def test_a_turn_host_is_a_bare_name_or_address(host: str) -> None:
    with pytest.raises(SettingsError, match="turn_hosts"):
        Settings(turn_hosts=(host,), turn_secret="s")


def test_the_static_turn_password_is_gone_and_says_what_replaces_it() -> None:
    with pytest.raises(SettingsError, match="TCD_TURN_SECRET"):
        settings_from_env({"TCD_TURN_USERNAME": "tcd", "TCD_TURN_PASSWORD": "secret"})
    # An empty variable (as an old compose file passes it) is no configuration at all.
    assert settings_from_env({"TCD_TURN_USERNAME": "", "TCD_TURN_PASSWORD": ""}).turn_hosts == ()
    assert not hasattr(Settings(), "turn_password")


def test_bad_numbers_are_named() -> None:
    with pytest.raises(SettingsError, match="TCD_TURN_TTL_SECONDS"):
        settings_from_env({"TCD_TURN_TTL_SECONDS": "an hour"})
    with pytest.raises(SettingsError, match="turn_ttl_seconds"):
        Settings(turn_ttl_seconds=0)


def test_serve_refuses_a_bad_flag_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TCD_ICE_UDP_PORTS", "TCD_TURN_HOSTS", "TCD_TURN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--udp-ports", "40199-40000"]) == 2
    assert "--udp-ports" in capsys.readouterr().err


def test_serve_takes_the_udp_port_range_as_a_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.cli import _settings, build_parser

    monkeypatch.setenv("TCD_ICE_UDP_PORTS", "30000-30009")
    args = build_parser().parse_args(["serve", "--udp-ports", "40000-40199"])
    assert _settings(args).ice_udp_ports == (40000, 40199)  # the flag wins over the variable
    assert _settings(build_parser().parse_args(["serve"])).ice_udp_ports == (30000, 30009)


def test_the_presence_ttl_comes_from_the_environment_and_is_checked() -> None:
    assert settings_from_env({"TCD_PRESENCE_TTL_SECONDS": "4.5"}).presence_ttl_seconds == 4.5
    with pytest.raises(SettingsError, match="TCD_PRESENCE_TTL_SECONDS"):
        settings_from_env({"TCD_PRESENCE_TTL_SECONDS": "soon"})
    with pytest.raises(SettingsError, match="presence_ttl_seconds"):
        Settings(presence_ttl_seconds=0.5)


def test_link_grade_thresholds_and_alert_delay_from_the_environment() -> None:
    settings = settings_from_env(
        {
            "TCD_LINK_LOSS_POOR_PCT": "5",
            "TCD_LINK_LOSS_BAD_PCT": "8.5",
            "TCD_LINK_RTT_POOR_MS": "300",
            "TCD_LINK_JITTER_BAD_MS": "60",
            "TCD_LINK_GRADE_WINDOW": "5",
            "TCD_ALERT_DEGRADED_SECONDS": "45",
            "TCD_METRICS_TOKEN": " scrape-me ",
        }
    )
    t = settings.grade_thresholds
    assert (t.loss_poor_pct, t.loss_bad_pct, t.rtt_poor_ms, t.rtt_bad_ms) == (5, 8.5, 300, 800)
    assert (t.jitter_poor_ms, t.jitter_bad_ms, t.window) == (30, 60, 5)
    assert settings.alert_degraded_seconds == 45
    assert settings.metrics_token == "scrape-me"
    assert "scrape-me" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TCD_LINK_LOSS_POOR_PCT": "20"}, "TCD_LINK_LOSS_POOR"),
        ({"TCD_LINK_RTT_BAD_MS": "fast"}, "TCD_LINK_RTT_BAD_MS"),
        ({"TCD_LINK_GRADE_WINDOW": "0"}, "TCD_LINK_GRADE_WINDOW"),
        ({"TCD_LINK_GRADE_WINDOW": "3.5"}, "TCD_LINK_GRADE_WINDOW"),
        ({"TCD_ALERT_DEGRADED_SECONDS": "0"}, "alert_degraded_seconds"),
    ],
)
def test_bad_link_settings_are_refused_naming_them(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        settings_from_env(env)
