"""Every node type Kith ships is run by a test in this folder."""

from __future__ import annotations

import re
from pathlib import Path

from kith.workflows.registry import NodeRegistry

HERE = Path(__file__).resolve().parent
USED = re.compile(r'node\(\s*"[^"]+",\s*"([a-z-]+)"')


def test_every_registered_node_type_has_a_test_here() -> None:
    used = {"start"}  # every flow of these tests starts with one (flows.START)
    for path in HERE.glob("test_*.py"):
        used |= set(USED.findall(path.read_text()))
    missing = set(NodeRegistry.installed().types()) - used
    assert not missing, f"node types without a test in tests/workflows/nodes: {sorted(missing)}"
