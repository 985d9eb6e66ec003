"""The shipped tracker files are exactly a fresh build of kith/tracker/src (`make tracker`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kith.tracker.build import TRACKER_DIR, built_files


def test_shipped_files_match_a_fresh_build_of_the_sources() -> None:
    for name, text in built_files().items():
        shipped = (TRACKER_DIR / name).read_text(encoding="utf-8")
        assert shipped == text, f"kith/tracker/{name} is stale: run `make tracker` and commit it"


def test_the_built_tracker_keeps_tracardis_names() -> None:
    """The ids a visitor already has from Tracardi's tracker, and the API pages call."""
    liliput = built_files()["liliput.min.js"]
    for name in ("tracardi-profile-id", "tracardi-session-id", "tracardi", "getState"):
        assert name in liliput
    loader = built_files()["loader.min.js"]
    assert "liliput.min.js" in loader


def test_the_package_build_ships_the_built_files(tmp_path: Path) -> None:
    """`pip install .` copies what setuptools' build_py copies: the package data is in it."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "from setuptools import setup; setup()",
         "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    for name in built_files():
        assert (tmp_path / "kith" / "tracker" / name).read_bytes() == (
            TRACKER_DIR / name
        ).read_bytes()
