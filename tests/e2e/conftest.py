"""End-to-end fixtures: a real `kith serve` process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest

ADMIN_KEY = "kith_e2eadmin_secretsecretsecret"
KITH = [sys.executable, "-m", "kith"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    def start(self) -> None:
        env = {
            **os.environ,
            "KITH_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "KITH_LOG_LEVEL": "warning",
            **self.env,
        }
        self.process = subprocess.Popen(
            [
                *KITH,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"kith serve exited with {self.process.returncode}: {err}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("kith serve did not become healthy in 30 s")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data")
    running.start()
    yield running
    if running.process is not None:
        running.stop()


def create_source(server: Server, source_id: str = "web-shop", **fields: object) -> None:
    response = httpx.post(
        f"{server.url}/api/sources",
        json={"id": source_id, "bridges": ["rest", "webhook"], **fields},
        headers=server.admin,
    )
    assert response.status_code == 201, response.text
