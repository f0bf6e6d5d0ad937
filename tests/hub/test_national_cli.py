"""`tcd-hub export` and `tcd-hub import` as an operator runs them, real subprocesses on SQLite:
the demo records exported, imported into a database holding only the office tree, the same
file again changing nothing, the copy exporting the same file; a file with a bad row."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.clock import now_local
from tests.hub.test_cli import run


def _url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'hub.sqlite3'}"


def _ok(done: Any) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return str(done.stdout)


def _rows(document: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in document.items() if k != "exported_at"}
    for key in ("petitions", "reception_register"):
        out[key] = [{k: v for k, v in row.items() if k != "updated_at"} for row in document[key]]
    return out


def test_export_import_round_trip_and_a_second_import_changes_nothing(tmp_path: Path) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    source.mkdir()
    copy.mkdir()
    a, b = _url(source), _url(copy)
    _ok(run(source, "migrate", "--database-url", a))
    _ok(run(source, "seed-demo", "--database-url", a))
    out = _ok(
        run(source, "export", "--format", "json", "--database-url", a, str(tmp_path / "all.json"))
    )
    assert (
        out.strip()
        == f"exported 3 petitions and 2 reception register rows to {tmp_path / 'all.json'}"
    )
    _ok(run(source, "export", "--format", "csv", "--database-url", a, str(tmp_path / "all.csv")))
    tomorrow = (now_local().date() + timedelta(days=1)).isoformat()
    none = json.loads(_ok(run(source, "export", "--since", tomorrow, "--database-url", a, "-")))
    assert none["since"] == tomorrow and none["petitions"] == [] == none["reception_register"]
    hy = json.loads(_ok(run(source, "export", "--office", "HY", "--database-url", a, "-")))
    assert {p["office"] for p in hy["petitions"]} == {"HY"} and len(hy["petitions"]) == 2

    _ok(run(copy, "migrate", "--database-url", b))
    _ok(run(copy, "seed-demo", "--offices-only", "--database-url", b))
    for name in ("all.json", "all.csv"):
        report = json.loads(_ok(run(copy, "import", str(tmp_path / name), "--database-url", b)))
        expected = (5, 0, 0) if name == "all.json" else (0, 0, 5)
        assert (report["created"], report["updated"], report["unchanged"]) == expected, name
        assert report["refused"] == []
    again = json.loads(_ok(run(copy, "import", str(tmp_path / "all.json"), "--database-url", b)))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)

    exported = json.loads((tmp_path / "all.json").read_text())
    back = json.loads(_ok(run(copy, "export", "--database-url", b, "-")))
    assert _rows(back) == _rows(exported)


def test_import_refuses_bad_rows_with_reasons_and_exit_code_1(tmp_path: Path) -> None:
    url = _url(tmp_path)
    _ok(run(tmp_path, "migrate", "--database-url", url))
    _ok(run(tmp_path, "seed-demo", "--offices-only", "--database-url", url))
    good = {
        "national_code": "QG-1",
        "office": "HY",
        "type": "complaint",
        "status": "received",
        "source": "post",
        "received_on": "2026-11-30",
        "petitioner_name": "Nguyễn Thị Hoa",
        "content": "Khiếu nại",
    }
    document = {
        "format": "tcd-hub-national",
        "version": 1,
        "petitions": [good, {**good, "national_code": "QG-2", "status": "lost"}],
    }
    (tmp_path / "in.json").write_text(json.dumps(document, ensure_ascii=False))
    done = run(tmp_path, "import", str(tmp_path / "in.json"), "--database-url", url)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["created"] == 1
    assert report["refused"] == [
        {
            "row": "petitions[1]",
            "record": "petition",
            "key": "QG-2",
            "reasons": {
                "status": "'lost' is not one of: received, accepted, transferred, returned, "
                "filed, suspended, resolved"
            },
        }
    ]
    (tmp_path / "bad.json").write_text("{not json")
    done = run(tmp_path, "import", str(tmp_path / "bad.json"), "--database-url", url)
    assert done.returncode == 2 and "not valid JSON" in json.loads(done.stdout)["error"]
