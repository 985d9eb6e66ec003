"""send-email against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from kith.workflows.graph import FlowInvalid
from kith.workflows.runs import run_document
from tests.receivers import free_port, smtp_server
from tests.workflows.nodes.flows import node, output, run_flow

ORDER = {"id": "e1", "type": "order-completed", "properties": {"total": 150}}
PASSWORD = "s3cret-Pa55word"


def mail_config(port: int, **extra: object) -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "shop@example.com",
        "to": "team@example.com, Bo <bo@example.com>",
        "subject": "Big order:\n {{event@properties.total}}",
        "body": "{{profile@data.pii.firstname|default:'Someone'}} ordered for "
        "{{event@properties.total}}.",
        **extra,
    }


async def test_send_email_delivers_the_rendered_message() -> None:
    with smtp_server() as mailbox:
        run = await run_flow([node("m", "send-email", mail_config(mailbox.port))], event=ORDER)
        ((sender, recipients, message),) = mailbox.wait_for(1)
    port, sent = output(run, "m")
    assert port == "out" and sent["to"] == ["team@example.com", "bo@example.com"]
    assert sent["subject"] == "Big order: 150" and sent["message_id"] == message["Message-ID"]
    assert sender == "shop@example.com"
    assert recipients == ["team@example.com", "bo@example.com"]
    assert message["Subject"] == "Big order: 150" and message["From"] == "shop@example.com"
    assert message.get_content_type() == "text/plain"
    assert message.get_payload(decode=True).decode().strip() == "Someone ordered for 150."


async def test_an_html_body_is_sent_as_html() -> None:
    with smtp_server() as mailbox:
        config = mail_config(mailbox.port, body="<b>{{event@properties.total}}</b>", html=True)
        await run_flow([node("m", "send-email", config)], event=ORDER)
        ((_, _, message),) = mailbox.wait_for(1)
    assert message.get_content_type() == "text/html"
    assert message.get_payload(decode=True).decode().strip() == "<b>150</b>"


async def test_it_logs_in_and_the_password_never_reaches_the_trace() -> None:
    with smtp_server(login=("kith", PASSWORD)) as mailbox:
        good = mail_config(mailbox.port, user="kith", password=PASSWORD)
        sent = await run_flow([node("m", "send-email", good)], event=ORDER)
        bad = mail_config(mailbox.port, user="kith", password=PASSWORD + "-wrong")
        refused = await run_flow([node("m", "send-email", bad)], event=ORDER)
        assert len(mailbox.wait_for(1)) == 1 and set(mailbox.logins) == {"kith"}
    assert sent.errors == []
    assert refused.errors and "SMTP 127.0.0.1" in refused.errors[0]["msg"]
    for run in (sent, refused):
        assert PASSWORD not in orjson.dumps(run_document(run, None)).decode()


async def test_secrets_are_blanked_out_of_error_messages() -> None:
    """Even a message that quotes the password (here: a recipient template that renders
    it) shows `***`: the engine removes every secret of the config from errors."""
    config = mail_config(free_port(), password=PASSWORD, to=f"not-an-address {PASSWORD}")
    run = await run_flow([node("m", "send-email", config)])
    assert run.errors and "***" in run.errors[0]["msg"]
    assert PASSWORD not in orjson.dumps(run_document(run, None)).decode()


async def test_a_server_that_is_not_there_fails_the_node() -> None:
    port = free_port()
    run = await run_flow([node("m", "send-email", mail_config(port))], event=ORDER)
    assert run.errors and run.errors[0]["msg"].startswith(f"SMTP 127.0.0.1:{port}: ")


async def test_sends_wait_without_blocking_the_event_loop() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with smtp_server(delay=0.5) as mailbox:
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        runs = await asyncio.gather(
            *(run_flow([node("m", "send-email", mail_config(mailbox.port))]) for _ in range(4))
        )
        elapsed = time.perf_counter() - started
        ticker.cancel()
        assert len(mailbox.wait_for(4)) == 4
    assert all(run.errors == [] for run in runs)
    assert elapsed < 1.5 and ticks >= 20  # four 0.5 s sends at once, the loop turning


@pytest.mark.parametrize(
    "change",
    [{"from": "not an address"}, {"tls": "maybe"}, {"port": 0}, {"subject": "{{event@"},
     {"to": ""}],
)  # fmt: skip
async def test_configs_that_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(FlowInvalid):
        await run_flow([node("m", "send-email", {**mail_config(25), **change})])


def test_the_password_is_write_only_in_the_schema() -> None:
    from kith.workflows.registry import NodeRegistry

    (described,) = [n for n in NodeRegistry.installed().describe() if n["type"] == "send-email"]
    schema = described["config_schema"]
    password = schema["properties"]["password"]["anyOf"][0]
    assert password.get("writeOnly") is True and "from" in schema["properties"]
