"""Which rules can act on committed events (the async-flows feed consumer reads the
feed only while one can)."""

from __future__ import annotations

import pytest

from kith.workflows.graph import CompiledFlow
from kith.workflows.rules import Rule, RuleBook


def book(*rules: tuple[str | None, str]) -> RuleBook:
    """A rule book of (event type, flow mode) pairs."""
    flows = {
        mode: CompiledFlow(id=mode, name=mode, mode=mode, version=1, start="s", order=[], nodes={})  # type: ignore[arg-type]
        for mode in ("sync", "async")
    }
    found = [
        Rule.of({"id": f"r{n}", "event_type": event_type, "flow": mode})
        for n, (event_type, mode) in enumerate(rules)
    ]
    return RuleBook.of(found, flows)


@pytest.mark.parametrize(
    ("rules", "acts"),
    [
        ((), False),
        ((("page-view", "sync"), ("identify", "sync")), False),
        ((("page-view", "sync"), ("page-view", "async")), True),
        (((None, "sync"),), True),  # a rule of any type also matches segment events
        ((("segment-entered", "sync"),), True),
        ((("segment-left", "sync"),), True),
    ],
)
def test_only_async_flows_and_segment_event_rules_act_after_commit(
    rules: tuple[tuple[str | None, str], ...], acts: bool
) -> None:
    assert book(*rules).acts_after_commit is acts
    assert book(*rules).has_sync is any(mode == "sync" for _, mode in rules)
