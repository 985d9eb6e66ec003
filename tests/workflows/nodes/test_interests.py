"""Interest nodes: add-interest, increase-interest, decrease-interest."""

from __future__ import annotations

from tests.workflows.nodes.flows import new_profile_doc, node, run_flow

VIEW = {"id": "e1", "type": "product-viewed", "properties": {"category": "shoes"}}


async def test_add_interest_sets_the_value_named_by_a_template() -> None:
    profile = new_profile_doc(interests={"shoes": 7, "hats": 1})
    run = await run_flow(
        [node("a", "add-interest", {"interest": "{{event@properties.category}}", "value": 2})],
        event=VIEW,
        profile=profile,
    )
    assert run.errors == [] and profile["interests"] == {"shoes": 2, "hats": 1}
    assert run.profile_changed


async def test_increase_and_decrease_count_from_zero() -> None:
    profile = new_profile_doc(interests={"running": 1})
    run = await run_flow(
        [
            node("up", "increase-interest", {"interest": "running", "value": 0.5}),
            node("new", "increase-interest", {"interest": "{{event@properties.category}}"}),
            node("down", "decrease-interest", {"interest": "hats", "value": 2}),
        ],
        event=VIEW,
        profile=profile,
    )
    assert run.errors == []
    assert profile["interests"] == {"running": 1.5, "shoes": 1, "hats": -2}
    assert type(profile["interests"]["shoes"]) is int


async def test_a_profile_without_interests_gets_them_and_a_dotted_name_is_one_key() -> None:
    profile = {"id": "p1"}
    run = await run_flow(
        [node("a", "increase-interest", {"interest": "a.b"})], event=VIEW, profile=profile
    )
    assert run.errors == [] and profile["interests"] == {"a.b": 1}


async def test_an_interest_that_is_not_a_number_or_has_no_name_fails_the_node() -> None:
    profile = new_profile_doc(interests={"shoes": "lots"})
    run = await run_flow(
        [node("a", "increase-interest", {"interest": "shoes"})], event=VIEW, profile=profile
    )
    assert run.errors[0]["msg"] == "interests['shoes'] holds str, not a number"
    run = await run_flow([node("a", "add-interest", {"interest": "{{event@nothing}}"})])
    assert "renders as nothing" in run.errors[0]["msg"]
    run = await run_flow([node("a", "add-interest", {"interest": "x"})], profileless=True)
    assert "no profile" in run.errors[0]["msg"]
