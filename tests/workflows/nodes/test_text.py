"""Text nodes: regex and parse-url."""

from __future__ import annotations

import time

import pytest

from kith.workflows.graph import FlowInvalid
from tests.workflows.nodes.flows import entry, node, output, run_flow

VIEW = {
    "id": "e1",
    "type": "page-view",
    "hit": {
        "url": "https://Shop.Example.com:8443/orders/order-1234?utm_source=news&tag=a&tag=b#top"
    },
}


async def test_regex_outputs_the_match_and_its_groups() -> None:
    config = {"pattern": r"order-(?P<id>\d+)\?(utm_\w+)", "field": "event@hit.url"}
    run = await run_flow([node("r", "regex", config)], event=VIEW)
    assert output(run, "r") == (
        "match",
        {"match": "order-1234?utm_source", "groups": ["1234", "utm_source"],
         "named": {"id": "1234"}},
    )  # fmt: skip


@pytest.mark.parametrize("group", ["id", 1])
async def test_regex_with_a_group_outputs_that_group(group: str | int) -> None:
    config = {"pattern": r"order-(?P<id>\d+)", "field": "event@hit.url", "group": group}
    run = await run_flow(
        [node("r", "regex", config), node("s", "set", {"set": {"memory@order": "payload@..."}})],
        [{"from": "start", "to": "r"}, {"from": "r", "port": "match", "to": "s"}],
        event=VIEW,
    )
    assert output(run, "r") == ("match", "1234") and run.memory == {"order": "1234"}


async def test_regex_no_match_passes_the_input_on() -> None:
    for field in ("event@hit.url", "event@hit.missing"):
        run = await run_flow(
            [node("r", "regex", {"pattern": "^checkout$", "field": field})], event=VIEW
        )
        assert output(run, "r") == ("no-match", VIEW)


async def test_regex_ignore_case_and_non_text_values() -> None:
    run = await run_flow(
        [node("r", "regex", {"pattern": "SHOP", "field": "event@hit.url", "ignore_case": True,
                             "group": 0})],
        event=VIEW,
    )  # fmt: skip
    assert output(run, "r") == ("match", "Shop")
    run = await run_flow(
        [node("r", "regex", {"pattern": r"^\d+$", "field": "event@properties.n"})],
        event={"id": "e", "type": "t", "properties": {"n": 42}},
    )
    assert output(run, "r")[0] == "match"


@pytest.mark.parametrize(
    "config",
    [{"pattern": "(unclosed"}, {"pattern": "x" * 1001}, {"pattern": "(a)", "group": 2},
     {"pattern": "(a)", "group": "name"}, {"pattern": "a", "timeout": 5}],
)  # fmt: skip
async def test_regex_configs_that_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(FlowInvalid):
        await run_flow([node("r", "regex", config)])


async def test_a_catastrophic_pattern_fails_on_its_timeout_instead_of_hanging() -> None:
    event = {"id": "e", "type": "t", "properties": {"text": "x" * 5000}}
    started = time.perf_counter()
    run = await run_flow(
        [node("r", "regex", {"pattern": "(x+x+)+y", "field": "event@properties.text",
                             "timeout": 0.05})],
        event=event,
    )  # fmt: skip
    assert time.perf_counter() - started < 2
    assert "took longer than 0.05 s" in (entry(run, "r").error or "")


async def test_parse_url_takes_a_url_apart() -> None:
    run = await run_flow([node("u", "parse-url", {"url": "event@hit.url"})], event=VIEW)
    assert output(run, "u") == (
        "out",
        {
            "url": "https://shop.example.com:8443/orders/order-1234?utm_source=news&tag=a&tag=b#top",
            "scheme": "https",
            "host": "shop.example.com",
            "port": 8443,
            "path": "/orders/order-1234",
            "query": {"utm_source": "news", "tag": ["a", "b"]},
            "fragment": "top",
        },
    )


async def test_parse_url_reads_the_payload_and_drops_credentials() -> None:
    run = await run_flow(
        [node("u", "parse-url", {"url": "payload@..."})],
        payload="http://user:secret@[::1]/a?empty=",
    )
    _, parts = output(run, "u")
    assert parts["url"] == "http://[::1]/a?empty=" and parts["host"] == "::1"
    assert parts["query"] == {"empty": ""} and "secret" not in str(parts)


@pytest.mark.parametrize("url", [None, "", 42, "http://host:notaport/"])
async def test_parse_url_fails_on_what_is_not_a_url(url: object) -> None:
    run = await run_flow([node("u", "parse-url", {"url": "payload@..."})], payload=url)
    assert run.errors and run.errors[0]["node"] == "u"
