"""value-changed, against the profile as it was when the run started."""

from __future__ import annotations

import pytest

from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow


def flow(set_value: object | None) -> list[dict[str, object]]:
    nodes: list[dict[str, object]] = []
    if set_value is not None:
        nodes.append(node("s", "set", {"set": {"profile@traits.tier": set_value}}))
    nodes.append(node("v", "value-changed", {"field": "profile@traits.tier"}))
    return nodes


@pytest.mark.parametrize(
    ("before", "set_value", "port"),
    [("silver", "gold", "changed"), ("gold", "gold", "unchanged"), (None, "gold", "changed"),
     ("gold", None, "unchanged")],
)  # fmt: skip
async def test_value_changed_compares_with_the_start_of_the_run(
    before: str | None, set_value: str | None, port: str
) -> None:
    profile = new_profile_doc(traits={} if before is None else {"tier": before})
    run = await run_flow(flow(set_value), profile=profile)
    assert output(run, "v")[0] == port
    assert run.started_profile is not None and run.started_profile is not profile


async def test_a_deleted_field_has_changed_and_flows_without_the_node_take_no_copy() -> None:
    profile = new_profile_doc(traits={"tier": "gold"})
    run = await run_flow(
        [node("d", "delete", {"fields": ["profile@traits.tier"]}),
         node("v", "value-changed", {"field": "profile@traits.tier"})],
        profile=profile,
    )  # fmt: skip
    assert output(run, "v")[0] == "changed"
    plain = await run_flow([node("s", "set", {"set": {"profile@traits.tier": "x"}})])
    assert plain.started_profile is None


async def test_a_profileless_run_is_unchanged() -> None:
    run = await run_flow(flow(None), profileless=True)
    assert output(run, "v")[0] == "unchanged"
