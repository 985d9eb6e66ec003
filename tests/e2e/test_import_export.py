"""`kith import` and `kith export` as real processes beside a real `kith serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson

from tests.e2e.conftest import KITH, Server, create_source


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KITH, *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def walk(server: Server, path: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        response = httpx.get(f"{server.url}{path}", params=query, headers=server.admin)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next"]
        if not cursor:
            return items


def write_lines(path: Path, lines: list[Any]) -> None:
    path.write_bytes(
        b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
        + b"\n"
    )


def test_import_reports_bad_lines_and_keeps_going(server: Server, tmp_path: Path) -> None:
    create_source(server, "imports")
    source = tmp_path / "mixed.jsonl"
    write_lines(
        source,
        [
            {"session": {"id": "imp-1"}, "events": [{"type": "page-view"}]},
            b"{not json",
            {"session": {"id": "imp-2"}, "events": [{"type": "  "}]},
            b"",
            {"session": {"id": "imp-1"}, "events": [{"type": "Add To Cart", "tags": ["i"]}]},
            [1, 2, 3],
            {"profile": {"id": "someone"}, "events": [{"type": "identify"}]},
        ],
    )
    done = cli(server, "import", str(source), "--source", "imports")
    assert done.returncode == 1, done.stderr  # some lines were rejected
    assert "Imported 3 lines, rejected 3" in done.stdout
    rejected = [line for line in done.stderr.splitlines() if line.startswith("line ")]
    assert sorted(line.split(":")[0] for line in rejected) == ["line 2", "line 3", "line 6"]
    assert any("Malformed JSON" in r for r in rejected)
    assert any(r.startswith("line 3: events.0.type") for r in rejected)
    events = walk(server, "/api/events", source="imports")
    assert sorted(e["type"] for e in events) == ["add-to-cart", "identify", "page-view"]
    session = httpx.get(f"{server.url}/api/sessions/imp-1", headers=server.admin).json()
    assert session["profile"]["id"]
    (job,) = walk(server, "/api/jobs", kind="import")
    assert job["status"] == "done" and job["done"] == job["total"] == source.stat().st_size
    assert job["params"]["path"] == str(source.resolve())

    unknown = cli(server, "import", str(source), "--source", "nope")
    assert unknown.returncode == 2 and "Unknown or disabled source" in unknown.stdout


def test_export_writes_every_row_in_the_range(server: Server, tmp_path: Path) -> None:
    create_source(server)
    for n in range(30):
        body = {
            "source": {"id": "web-shop"},
            "session": {"id": f"ex-{n}"},
            "events": [{"type": "page-view"}, {"type": "scroll"}],
        }
        assert httpx.post(f"{server.url}/track", json=body).status_code == 200
    for kind, expected in (("events", 30 * 5), ("sessions", 30), ("profiles", 30)):
        out = tmp_path / f"{kind}.jsonl"
        done = cli(server, "export", kind, "--out", str(out))
        assert done.returncode == 0, done.stderr
        rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
        assert len(rows) == expected, kind
        assert len({row["id"] for row in rows}) == expected
    none = cli(
        server,
        "export",
        "events",
        "--from",
        "2001-01-01",
        "--to",
        "2001-01-02",
        "--out",
        str(tmp_path / "none.jsonl"),
    )
    assert none.returncode == 0 and (tmp_path / "none.jsonl").read_bytes() == b""
    bad = cli(server, "export", "events", "--from", "soon", "--out", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "--from" in bad.stderr


def test_resume_after_a_killed_import_stores_each_line_once(server: Server, tmp_path: Path) -> None:
    create_source(server, "bulk")
    lines = 4000
    source = tmp_path / "big.jsonl"
    rows: list[Any] = []
    for n in range(lines):
        line: dict[str, Any] = {"events": [{"type": "page-view"}, {"type": "scroll"}]}
        if n % 3:  # a third carry no session: the import must still not duplicate them
            line["session"] = {"id": f"big-{n}"}
        rows.append(line)
    write_lines(source, rows)

    def job() -> dict[str, Any] | None:
        jobs = walk(server, "/api/jobs", kind="import")
        return jobs[0] if jobs else None

    process = subprocess.Popen(
        [*KITH, "import", str(source), "--source", "bulk", "--data-dir", str(server.data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = job()
        if running is not None and running["done"] > running["total"] // 20:
            break
        assert process.poll() is None, "the import finished before it could be killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stopped = job()
    assert stopped is not None and stopped["status"] == "running"
    assert 0 < stopped["done"] < stopped["total"]

    done = cli(server, "import", str(source), "--source", "bulk", "--resume")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Resumed after line" in done.stdout
    finished = job()
    assert finished is not None and finished["id"] == stopped["id"]
    assert finished["status"] == "done" and finished["done"] == finished["total"]

    events = walk(server, "/api/events", source="bulk")
    assert len(events) == 2 * lines
    assert len({e["id"] for e in events}) == 2 * lines
    sessions = {e["session"]["id"] for e in events}
    assert len(sessions) == lines
    created = walk(server, "/api/events", type="profile-created")
    assert len(created) == lines
