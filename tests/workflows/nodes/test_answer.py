"""Answer and payload nodes: ux, response, inject, template."""

from __future__ import annotations

import pytest

from kith.workflows.graph import FlowInvalid
from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150, "id": "o-9"}}


async def test_ux_adds_a_rendered_item_to_the_answer() -> None:
    profile = new_profile_doc(data={"pii": {"firstname": "Ada"}})
    config = {"tag": "div", "props": {"class": "hello", "data-total": "event@properties.total"},
              "content": "Thanks {{profile@data.pii.firstname}}"}  # fmt: skip
    run = await run_flow([node("u", "ux", config)], event=ORDER, profile=profile)
    assert run.ux == [
        {"tag": "div", "props": {"class": "hello", "data-total": 150}, "content": "Thanks Ada"}
    ]


async def test_ux_refuses_a_tag_that_is_not_a_tag_name() -> None:
    with pytest.raises(FlowInvalid):
        await run_flow([node("u", "ux", {"tag": "script><img", "content": "x"})])


async def test_response_sets_a_key_of_the_answer() -> None:
    offer = {"code": "SAVE", "for": "event@properties.id"}
    run = await run_flow(
        [node("r", "response", {"key": "offer", "value": offer}),
         node("r2", "response", {"key": "total", "value": "event@properties.total"})],
        event=ORDER,
    )  # fmt: skip
    assert run.response == {"offer": {"code": "SAVE", "for": "o-9"}, "total": 150}


async def test_inject_replaces_the_payload_with_an_object_template() -> None:
    run = await run_flow(
        [node("i", "inject", {"value": {"order": "event@properties.id", "note": "n {{event@type}}",
                                        "missing?": "event@nothing"}}),
         node("t", "template", {"template": "{{payload@order}}"})],
        event=ORDER,
    )  # fmt: skip
    assert output(run, "i") == ("out", {"order": "o-9", "note": "n order-completed"})
    assert output(run, "t") == ("out", "o-9")


async def test_template_renders_text_with_defaults() -> None:
    text = "Order {{event@properties.id}} by {{profile@data.pii.name|default:'nobody'}}"
    run = await run_flow([node("t", "template", {"template": text})], event=ORDER)
    assert output(run, "t") == ("out", "Order o-9 by nobody")


async def test_a_broken_template_is_refused_on_save() -> None:
    with pytest.raises(FlowInvalid, match="template"):
        await run_flow([node("t", "template", {"template": "{{event@"})])
