"""The `tcd-hub` command as an operator types it: migrate, seed-demo, user add; then the hub serves
that database and the accounts sign in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.client import ThreadedHub


def tcd_hub() -> str:
    """The console script installed next to this interpreter."""
    script = Path(sys.executable).with_name("tcd-hub")
    if script.exists():
        return str(script)
    found = shutil.which("tcd-hub")
    assert found, "the tcd-hub console script is not installed (pip install -e .)"
    return found


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCD_")}
    env["TCD_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [tcd_hub(), *args],
        cwd=data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def seeded(data_dir: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    migrated = run(data_dir, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    assert (data_dir / "tcd-hub.sqlite3").exists()
    yield run(data_dir, "seed-demo", "--password", "s3cret-pw")


def test_seed_demo_prints_the_accounts_and_their_password(
    seeded: subprocess.CompletedProcess[str],
) -> None:
    assert seeded.returncode == 0, seeded.stderr
    lines = seeded.stdout.splitlines()
    assert lines[0] == "demo accounts (password: s3cret-pw):"
    accounts = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert accounts == {
        "admin": "admin",
        "leader": "leader",
        "staff": "staff",
        "operator": "operator",
        "staff.hungyen": "staff",
        "leader.hungyen": "leader",
        "operator.hungyen": "operator",
        "staff.bacgiang": "staff",
    }
    assert "Ban Tiếp công dân tỉnh Bắc Giang" in seeded.stdout


def test_user_add_refuses_a_taken_username_with_a_message(
    data_dir: Path, seeded: subprocess.CompletedProcess[str]
) -> None:
    taken = run(
        data_dir,
        "user",
        "add",
        "staff",
        "--role",
        "staff",
        "--office",
        "HY",
        "--password",
        "pw-123",
    )
    assert taken.returncode == 2 and "username staff is taken" in taken.stderr
    assert "Traceback" not in taken.stderr


def test_accounts_made_by_the_cli_sign_in_to_the_hub(
    data_dir: Path, seeded: subprocess.CompletedProcess[str]
) -> None:
    added = run(
        data_dir,
        "user", "add", "canbo.phohien",
        "--role", "staff",
        "--office", "HY.PHOHIEN",
        "--display-name", "Cán bộ phường Phố Hiến",
        "--password", "mat-khau-9",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "user canbo.phohien added"

    hub = ThreadedHub.start(data_dir, prepare_db=False)
    try:
        login = {"username": "canbo.phohien", "password": "mat-khau-9"}
        reply = hub.call("POST", "/api/v1/auth/login", json=login)
        assert reply.status == 200, reply.text
        user = reply.json["user"]
        assert (user["role"], user["display_name"]) == ("staff", "Cán bộ phường Phố Hiến")
        assert user["office_name"] == "Phường Phố Hiến"
        admin = {"username": "admin", "password": "s3cret-pw"}
        assert hub.call("POST", "/api/v1/auth/login", json=admin).status == 200
        # The demo accounts have the password given to seed-demo, not the default one.
        demo = {"username": "admin", "password": "demo"}
        assert hub.call("POST", "/api/v1/auth/login", json=demo).status == 401
    finally:
        hub.close()
