"""The API tests' run summary: the sign-in storm's frame rates, so the figure the fix is judged
by shows in every test log, not only with -s."""

from __future__ import annotations

from typing import Any

import pytest

STORM_FIGURES = pytest.StashKey[list[dict[str, Any]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the lowest frame rate each measured sign-in storm left a live room."""
    figures = config.stash.get(STORM_FIGURES, [])
    if not figures:
        return
    terminalreporter.section("sign-in storm with a live three-site room", sep="-")
    for f in figures:
        terminalreporter.line(
            f"lowest {f['lowest_fps_during_storm']} fps ({f['lowest_fps_pair']}) over "
            f"{f['windows_during_storm']} windows of {f['window_seconds']} s during the storm "
            f"({f['lowest_fps_during_storm_1s_windows']} fps over 1 s windows); "
            f"baseline median {f['baseline_median_fps']} fps; sign-ins: one account "
            f"{f['one_account']}, a hundred unknown accounts {f['many_accounts']}"
        )
