"""Each destination kind against a real receiver: SMTP (aiosmtpd), RabbitMQ, Slack-
and Segment-shaped HTTP; and the flow node that routes to a destination."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from typing import Any

import aio_pika
import orjson
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from kith.domain.ids import new_id
from tests.api.flow_helpers import chain, put_flow, put_rule
from tests.api.test_destinations import FAST, put_destination, track
from tests.destinations.receivers import Receiver, running

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def fast(make_client: Callable[..., TestClient], admin: dict[str, str]) -> TestClient:
    client = make_client(**FAST)
    response = client.post(
        "/api/sources", json={"id": "web-shop", "bridges": ["rest"]}, headers=admin
    )
    assert response.status_code == 201, response.text
    return client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as started:
        yield started


def identify_and_buy(client: TestClient, total: int) -> dict[str, Any]:
    payload = {
        "source": {"id": "web-shop"},
        "events": [
            {"type": "identify", "properties": {"email": "ann@example.com", "firstname": "Ann"}},
            {"type": "purchase", "properties": {"total": total}},
        ],
    }
    response = client.post("/track", json=payload)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_email_reaches_a_real_smtp_server_rendered(fast: TestClient, admin: dict[str, str]) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        put_destination(
            fast,
            admin,
            "mail",
            kind="email",
            event_types=["purchase"],
            config={
                "host": "127.0.0.1",
                "port": port,
                "tls": "none",
                "from": "shop@example.com",
                "to": "{{profile@data.contact.email.main}}",
                "subject": "Your order of {{event@properties.total}}",
                "body": "Hi {{profile@data.pii.firstname|default:'there'}}, thanks!",
            },
        )
        identify_and_buy(fast, 42)
        deadline = time.monotonic() + 20
        while not mailbox.messages:
            assert time.monotonic() < deadline, "no e-mail arrived"
            time.sleep(0.02)
    finally:
        controller.stop()
    ((sender, recipients, content),) = mailbox.messages
    assert (sender, recipients) == ("shop@example.com", ["ann@example.com"])
    message = message_from_bytes(content)
    assert message["Subject"] == "Your order of 42"
    assert message["To"] == "ann@example.com"
    assert message["Message-ID"].endswith("@kith>")
    assert message.get_payload(decode=True).decode().strip() == "Hi Ann, thanks!"


async def _declare(exchange_name: str, queue_name: str) -> None:
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, "direct", auto_delete=False)
        queue = await channel.declare_queue(queue_name, auto_delete=False)
        await queue.bind(exchange, "orders")


async def _take(exchange_name: str, queue_name: str, timeout: float) -> list[Any]:
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        taken: list[Any] = []
        deadline = time.monotonic() + timeout
        while not taken and time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            taken.append(message)
        await queue.delete(if_unused=False, if_empty=False)
        await channel.exchange_delete(exchange_name)
        return taken


def test_amqp_publishes_to_rabbitmq(fast: TestClient, admin: dict[str, str]) -> None:
    exchange, queue = f"kith-test-{new_id()}", f"kith-test-{new_id()}"
    asyncio.run(_declare(exchange, queue))
    put_destination(
        fast,
        admin,
        "rabbit",
        kind="amqp",
        event_types=["purchase"],
        mapping={"email": "profile@data.contact.email.main", "total": "event@properties.total"},
        config={"url": RABBITMQ, "exchange": exchange, "routing_key": "orders"},
    )
    assert fast.get("/api/destinations/rabbit", headers=admin).json()["config"]["url"] == "***"
    identify_and_buy(fast, 7)
    (message,) = asyncio.run(_take(exchange, queue, 20))
    assert orjson.loads(message.body) == {"email": "ann@example.com", "total": 7}
    assert message.content_type == "application/json"
    (delivery,) = fast.get("/api/destinations/rabbit/deliveries", headers=admin).json()["items"]
    assert message.message_id == delivery["id"]


def test_amqp_to_a_missing_exchange_is_dead(fast: TestClient, admin: dict[str, str]) -> None:
    put_destination(
        fast,
        admin,
        "rabbit",
        kind="amqp",
        event_types=["purchase"],
        config={"url": RABBITMQ, "exchange": f"kith-missing-{new_id()}"},
    )
    identify_and_buy(fast, 7)
    deadline = time.monotonic() + 20
    while True:
        items = fast.get("/api/destinations/rabbit/deliveries", headers=admin).json()["items"]
        if items and items[0]["status"] == "dead":
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.05)
    assert "ChannelNotFoundEntity" in items[0]["last_error"]


def test_slack_gets_the_rendered_text(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    put_destination(
        fast,
        admin,
        "slack",
        kind="slack",
        event_types=["purchase"],
        config={
            "url": receiver.url,
            "text": "{{profile@data.pii.firstname}} bought for {{event@properties.total}}",
        },
    )
    identify_and_buy(fast, 99)
    receiver.wait_for(lambda r: len(r.requests) == 1)
    assert orjson.loads(receiver.requests[0].body) == {"text": "Ann bought for 99"}


def test_segment_gets_a_batch_with_the_write_key(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    put_destination(
        fast,
        admin,
        "segment",
        kind="segment",
        event_types=["purchase"],
        config={"url": receiver.url.removesuffix("/hook"), "write_key": "wk-123"},
    )
    answers = [identify_and_buy(fast, total) for total in (1, 2, 3)]
    receiver.wait_for(lambda r: sum(len(orjson.loads(q.body)["batch"]) for q in r.requests) == 3)
    request = receiver.requests[0]
    assert request.path == "/v1/batch"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"wk-123:").decode()
    messages = [m for q in receiver.requests for m in orjson.loads(q.body)["batch"]]
    assert sorted(m["properties"]["total"] for m in messages) == [1, 2, 3]
    first = next(m for m in messages if m["properties"]["total"] == 1)
    assert first["type"] == "track" and first["event"] == "purchase"
    assert first["anonymousId"] == answers[0]["profile"]["id"]
    assert first["messageId"] == answers[0]["events"][1]


def test_flows_route_to_a_destination_with_its_retries(
    fast: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.answer = lambda request, count: 500 if count == 0 else 200
    put_destination(
        fast,
        admin,
        "crm",
        kind="webhook",
        enabled=True,
        event_types=["never-sent-directly"],
        config={"url": receiver.url},
    )
    node = {"id": "send", "type": "send-to-destination", "config": {"destination": "crm"}}
    put_flow(fast, admin, "to-crm", [{"id": "start", "type": "start"}, node], chain(node))
    put_rule(fast, admin, "buyers", "to-crm", event_type="purchase")
    answer = track(fast, "purchase", total=5)
    assert answer["errors"] == []
    receiver.wait_for(lambda r: len(r.requests) == 2)
    assert len(set(receiver.ids())) == 1
    body = orjson.loads(receiver.requests[1].body)
    assert body["event"]["id"] == answer["events"][0]
    assert body["profile"]["id"] == answer["profile"]["id"]


def test_the_node_fails_for_an_unknown_destination(fast: TestClient, admin: dict[str, str]) -> None:
    node = {"id": "send", "type": "send-to-destination", "config": {"destination": "nowhere"}}
    put_flow(fast, admin, "to-nowhere", [{"id": "start", "type": "start"}, node], chain(node))
    put_rule(fast, admin, "all", "to-nowhere", event_type="purchase")
    answer = track(fast, "purchase")
    assert len(answer["errors"]) == 1
    assert "nowhere" in orjson.dumps(answer["errors"]).decode()
