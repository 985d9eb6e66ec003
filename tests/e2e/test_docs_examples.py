"""The curl examples of README.md and docs/tracking.md run against a real server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_KEY, Server

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def curl_commands(doc: Path) -> list[str]:
    """Every curl command of the doc's sh blocks, continuation lines joined."""
    commands: list[str] = []
    for block in BLOCK.findall(doc.read_text()):
        joined = re.sub(r"\\\n\s*", " ", block)
        current: list[str] = []
        for line in joined.splitlines():
            if line.startswith("curl "):
                if current:
                    commands.append("\n".join(current))
                current = [line]
            elif current and not line.startswith("#") and line.strip():
                current.append(line)
            elif current:
                commands.append("\n".join(current))
                current = []
        if current:
            commands.append("\n".join(current))
    return commands


@pytest.mark.parametrize("doc", ["README.md", "docs/tracking.md"])
def test_examples_answer_success(doc: str, server: Server) -> None:
    commands = curl_commands(ROOT / doc)
    assert len(commands) >= 3
    profile_id = ""
    for command in commands:
        command = command.replace("localhost:8686", f"127.0.0.1:{server.port}")
        command = command.replace("change-me", ADMIN_KEY).replace("<profile id>", profile_id)
        command = command.replace("curl -s ", "curl -s -w '\\n%{http_code}' ", 1)
        out = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, check=True
        ).stdout
        body, status = out.rsplit("\n", 1)
        expect_error = '"type": 7' in command
        assert (status == "422") if expect_error else status in ("200", "201"), (command, out)
        answer = json.loads(body)
        if isinstance(answer, dict) and isinstance(answer.get("profile"), dict):
            profile_id = answer["profile"]["id"] or profile_id
