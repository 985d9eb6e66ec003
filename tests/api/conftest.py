"""Every test in tests/api runs against both engines: one suite, two engines."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("engine", ["sqlite"] if only_sqlite else ENGINES, scope="function")
