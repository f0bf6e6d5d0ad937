"""A media worker moves itself ahead of the records side on the CPU (rooms.worker.move_to_nice),
and says so when it may not. Each case runs in a child: a nice value, once lowered, cannot be
raised again without privilege."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import logging, os, sys, threading
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
from rooms.worker import move_to_nice
moved = move_to_nice(int(sys.argv[1]))
seen = []
t = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
t.start(); t.join()
print(moved, os.getpriority(os.PRIO_PROCESS, 0), seen[0])
"""


def probe(target: int, *, drop_privilege: bool = False) -> list[str]:
    # Without CAP_SYS_NICE (setpriv, util-linux) root is as unprivileged as anyone here.
    drop = ["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--"]
    done = subprocess.run(
        [*(drop if drop_privilege else []), sys.executable, "-c", PROBE, str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split("\n")


def test_moving_up_needs_no_privilege_and_threads_inherit_it() -> None:
    *_, result, _ = probe(5, drop_privilege=True)
    assert result == "True 5 5"


@pytest.mark.skipif(os.geteuid() != 0, reason="lowering nice needs root or CAP_SYS_NICE")
def test_moving_down_as_root_reaches_the_target() -> None:
    *_, result, _ = probe(-10)
    assert result == "True -10 -10"


def test_an_unprivileged_worker_says_why_and_stays() -> None:
    *lines, result, _ = probe(-10, drop_privilege=True)
    assert result == "False 0 0"
    assert any("not allowed to move to nice -10" in line for line in lines), lines
