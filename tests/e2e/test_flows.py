"""Async flows against a real `kith serve`: remote calls and e-mail wait outside the
request, and pending runs survive `kill -9` (at least once)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.conftest import Server, create_source
from tests.receivers import Answer, HttpReceiver, http_receiver, smtp_server, wait_until

pytestmark = pytest.mark.e2e
SLOW = 2.0
"""Seconds the test HTTP server takes to answer."""


def deploy_async_flow(server: Server, event_type: str, node: dict[str, Any]) -> None:
    """A deployed async flow `start -> node`, started by every `event_type` event."""
    with httpx.Client(base_url=server.url, headers=server.admin, timeout=10) as client:
        flow = {
            "name": "remote",
            "mode": "async",
            "nodes": [{"id": "start", "type": "start"}, node],
            "edges": [{"from": "start", "to": node["id"]}],
        }
        response = client.put("/api/flows/remote", json=flow)
        assert response.status_code == 200, response.text
        response = client.post("/api/flows/remote/deploy")
        assert response.status_code == 200, response.text
        rule = {"flow": "remote", "event_type": event_type}
        response = client.put("/api/rules/remote", json=rule)
        assert response.status_code == 200, response.text


def call_receiver(receiver: HttpReceiver) -> dict[str, Any]:
    return {
        "id": "call",
        "type": "http-call",
        "config": {"url": receiver.url + "/hook", "body": {"event": "event@id"}, "timeout": 10},
        "timeout": 15,
    }


def track(client: httpx.Client, event: dict[str, Any]) -> tuple[list[str], float]:
    """One new visitor's `/track` with `event`: (event ids, seconds it took)."""
    body = {"source": {"id": "web-shop"}, "session": {"id": str(uuid.uuid4())}, "events": [event]}
    started = time.perf_counter()
    response = client.post("/track", json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return response.json()["events"], elapsed


def called_events(receiver: HttpReceiver) -> list[str]:
    return [request.json()["event"] for request in receiver.requests()]


def test_a_slow_remote_call_in_an_async_flow_does_not_slow_track(server: Server) -> None:
    create_source(server)
    count = 40
    with http_receiver(Answer(delay=SLOW)) as receiver:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            before = sorted(track(client, {"type": "page-view"})[1] for _ in range(count))
        deploy_async_flow(server, "page-view", call_receiver(receiver))
        tracked: list[str] = []
        times: list[float] = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            started = time.perf_counter()
            for _ in range(count):
                ids, elapsed = track(client, {"type": "page-view"})
                tracked += ids
                times.append(elapsed)
            total = time.perf_counter() - started
        # runs were pending while /track answered: the last one cannot have been answered yet
        assert len(set(called_events(receiver))) < count
        times.sort()
        assert times[-1] < SLOW / 2, times[-5:]  # no /track waited for a call
        assert total < count * SLOW / 10, total  # one after another, never 2 s each
        wait_until(lambda: set(called_events(receiver)) >= set(tracked), 25, "every call")
    assert sorted(set(called_events(receiver))) == sorted(tracked)
    print(f"/track without flows: median {before[count // 2] * 1000:.1f} ms; with async "
          f"calls pending: median {times[count // 2] * 1000:.1f} ms, max "
          f"{times[-1] * 1000:.1f} ms, {count} calls in {total:.2f} s")  # fmt: skip


def test_send_email_in_an_async_flow_delivers_the_rendered_mail(server: Server) -> None:
    create_source(server)
    with smtp_server() as mailbox:
        node = {
            "id": "mail",
            "type": "send-email",
            "config": {
                "host": "127.0.0.1",
                "port": mailbox.port,
                "tls": "none",
                "from": "shop@example.com",
                "to": "team@example.com",
                "subject": "Big order: {{event@properties.total}} {{event@properties.currency}}",
                "body": "Order {{event@id}} of {{event@properties.total}} by "
                "{{profile@data.pii.firstname|default:'a new customer'}}.",
            },
        }
        deploy_async_flow(server, "order-completed", node)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            order = {"type": "order-completed", "properties": {"total": 250, "currency": "EUR"}}
            (event_id,), elapsed = track(client, order)
        ((sender, recipients, message),) = mailbox.wait_for(1, seconds=20)
    assert elapsed < 1
    assert (sender, recipients) == ("shop@example.com", ["team@example.com"])
    assert message["Subject"] == "Big order: 250 EUR"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert body.decode().strip() == f"Order {event_id} of 250 by a new customer."


def test_async_flows_pending_at_kill_9_run_after_restart(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"KITH_LEASE_SECONDS": "2"})
    server.start()
    try:
        create_source(server)
        count = 30
        with http_receiver(Answer(delay=SLOW)) as receiver:
            deploy_async_flow(server, "page-view", call_receiver(receiver))
            tracked: list[str] = []
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for _ in range(count):
                    tracked += track(client, {"type": "page-view"})[0]
            wait_until(lambda: len(receiver.requests()) > 0, 10, "the first call")
            killed = time.monotonic()
            server.kill()
            # calls that arrived less than SLOW ago were still waiting for their answer:
            # their batch cannot have been acknowledged
            in_flight = {
                request.json()["event"]
                for request in receiver.requests()
                if request.at > killed - SLOW + 0.2
            }
            assert in_flight
            server.start()
            wait_until(lambda: set(called_events(receiver)) >= set(tracked), 25, "every call")
            calls = called_events(receiver)
        assert set(calls) == set(tracked)
        # what was in flight at the kill ran again after the restart (at least once)
        assert all(calls.count(event_id) >= 2 for event_id in in_flight)
    finally:
        if server.process is not None:
            server.stop()
