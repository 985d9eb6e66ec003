"""http-call and slack against a real HTTP server started by the test."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from kith.workflows.graph import FlowInvalid
from kith.workflows.runs import run_document
from tests.receivers import Answer, free_port, http_receiver
from tests.workflows.nodes.flows import entry, new_profile_doc, node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150}}


async def test_http_call_sends_rendered_url_headers_and_json_body() -> None:
    profile = new_profile_doc(data={"contact": {"email": {"main": "ada@example.com"}}})
    with http_receiver(Answer(body=b'{"id": 7, "ok": true}')) as receiver:
        config = {
            "url": receiver.url + "/contacts/{{profile@id}}?src=kith",
            "method": "PUT",
            "headers": {"Authorization": "Bearer {{event@type}}"},
            "body": {"email": "profile@data.contact.email.main", "total": "event@properties.total",
                     "note": "order of {{event@properties.total}}"},
        }  # fmt: skip
        run = await run_flow([node("h", "http-call", config)], event=ORDER, profile=profile)
        (request,) = receiver.requests()
    assert output(run, "h") == ("out", {"status": 200, "body": {"id": 7, "ok": True}})
    assert request.method == "PUT" and request.path == "/contacts/p1?src=kith"
    assert request.headers["authorization"] == "Bearer order-completed"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"email": "ada@example.com", "total": 150, "note": "order of 150"}


async def test_a_content_type_of_the_config_is_kept() -> None:
    with http_receiver() as receiver:
        config = {"url": receiver.url, "headers": {"Content-Type": "application/vnd.x+json"},
                  "body": {"a": 1}}  # fmt: skip
        run = await run_flow([node("h", "http-call", config)])
        (request,) = receiver.requests()
    assert run.errors == [] and request.headers["content-type"] == "application/vnd.x+json"
    assert request.json() == {"a": 1}


async def test_http_call_passes_text_answers_as_text_and_sends_no_body_without_one() -> None:
    with http_receiver(Answer(body=b"pong", content_type="text/plain")) as receiver:
        run = await run_flow([node("h", "http-call", {"url": receiver.url, "method": "GET"})])
        (request,) = receiver.requests()
    assert output(run, "h") == ("out", {"status": 200, "body": "pong"})
    assert request.body == b"" and "content-type" not in request.headers


async def test_a_non_2xx_answer_fails_the_node_unless_told_otherwise() -> None:
    answer = Answer(status=503, body=b'{"error": "busy"}')
    with http_receiver(answer) as receiver:
        failed = await run_flow([node("h", "http-call", {"url": receiver.url + "/x"})])
        handled = await run_flow(
            [node("h", "http-call", {"url": receiver.url}, on_error="port"),
             node("seen", "set", {"set": {"memory@error": "payload@error"}})],
            [{"from": "start", "to": "h"}, {"from": "h", "port": "error", "to": "seen"}],
        )  # fmt: skip
        tolerant = await run_flow(
            [node("h", "http-call", {"url": receiver.url, "fail_on_status": False})]
        )
    assert failed.errors[0]["msg"] == f'POST {receiver.url}/x answered 503: {{"error": "busy"}}'
    assert handled.errors == [] and "answered 503" in handled.memory["error"]
    assert output(tolerant, "h") == ("out", {"status": 503, "body": {"error": "busy"}})


async def test_no_connection_and_no_answer_in_time_fail_the_node() -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"
    run = await run_flow([node("h", "http-call", {"url": closed})])
    assert run.errors[0]["msg"].startswith(f"POST {closed}: ConnectError")
    with http_receiver(Answer(delay=1.0)) as receiver:
        started = time.perf_counter()
        run = await run_flow([node("h", "http-call", {"url": receiver.url, "timeout": 0.2})])
        assert time.perf_counter() - started < 0.9
    assert run.errors[0]["msg"] == f"POST {receiver.url}/: no answer in 0.2 s"


async def test_an_answer_larger_than_the_limit_fails_the_node() -> None:
    with http_receiver(Answer(body=b"x" * (1024 * 1024 + 1), content_type="text/plain")) as r:
        run = await run_flow([node("h", "http-call", {"url": r.url})])
    assert "larger than 1048576 bytes" in run.errors[0]["msg"]


async def test_errors_never_show_the_urls_credentials_or_query() -> None:
    with http_receiver(Answer(status=401, body=b"no")) as receiver:
        url = receiver.url.replace("http://", "http://bob:pa55word@") + "/api?token=t0ken"
        run = await run_flow([node("h", "http-call", {"url": url})])
    shown = orjson.dumps(run_document(run, None)).decode()
    assert "answered 401" in run.errors[0]["msg"]
    assert "pa55word" not in shown.replace(url, "") and "t0ken" not in run.errors[0]["msg"]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "{{event@nothing}}"])
async def test_a_url_that_is_not_http_fails_the_node(url: str) -> None:
    run = await run_flow([node("h", "http-call", {"url": url})])
    assert run.errors and run.errors[0]["node"] == "h"


async def test_calls_wait_without_blocking_the_event_loop() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with http_receiver(Answer(delay=0.5)) as receiver:
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        runs = await asyncio.gather(
            *(run_flow([node("h", "http-call", {"url": receiver.url})]) for _ in range(5))
        )
        elapsed = time.perf_counter() - started
        ticker.cancel()
    assert all(run.errors == [] for run in runs)
    assert elapsed < 1.5  # five 0.5 s calls at once, not one after another
    assert ticks >= 20  # the loop kept turning while the calls waited


async def test_slack_posts_the_rendered_text_to_the_webhook() -> None:
    with http_receiver(Answer(body=b"ok", content_type="text/plain")) as receiver:
        webhook = receiver.url + "/services/T000/B000/XXXX"
        config = {"webhook": webhook, "text": "Order of {{event@properties.total}}"}
        run = await run_flow([node("s", "slack", config)], event=ORDER)
        (request,) = receiver.requests()
    assert run.errors == [] and output(run, "s") == ("out", ORDER)
    assert request.path == "/services/T000/B000/XXXX"
    assert request.json() == {"text": "Order of 150"}


async def test_a_slack_refusal_fails_the_node_without_showing_the_webhook() -> None:
    with http_receiver(Answer(status=404, body=b"no_service", content_type="text/plain")) as r:
        webhook = r.url + "/services/T000/B000/SECRETPART"
        run = await run_flow([node("s", "slack", {"webhook": webhook, "text": "hi"})])
    assert run.errors[0]["msg"] == "Slack answered 404: no_service"
    assert "SECRETPART" not in orjson.dumps(run_document(run, None)).decode()
    assert entry(run, "s").error == "Slack answered 404: no_service"


async def test_slack_refuses_a_webhook_that_is_not_a_url() -> None:
    with pytest.raises(FlowInvalid, match="webhook"):
        await run_flow([node("s", "slack", {"webhook": "hooks.slack.com", "text": "hi"})])
