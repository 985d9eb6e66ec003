"""Routing a flow's data to a destination, with the destination's retries."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kith.domain.errors import NotFound
from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.run import FlowRun


class SendToDestinationConfig(NodeConfig):
    destination: str = Field(
        min_length=1, max_length=128, description="The id of a destination (`/api/destinations`)."
    )


class SendToDestination(FlowNode[SendToDestinationConfig]):
    """Queues a delivery of the run's event and profile to a destination, which sends
    it as its own deliveries are sent: durably, retried with backoff for up to its
    `max_age`, its body the destination's mapping (or `{event, profile}`). The
    destination's `event_types`, `sources` and `condition` do not apply: the flow
    decided. Fails when the destination is unknown or disabled; a debug run queues
    nothing. The payload passes
    on unchanged. Example: `{"destination": "crm"}`."""

    type = "send-to-destination"
    name = "Send to destination"
    family = "destinations"
    config_model = SendToDestinationConfig
    io = True

    async def run(self, run: FlowRun, payload: Any) -> Output:
        queue = run.services.destinations
        if queue is None:
            raise NodeError("Destinations are not available in this process")
        if run.debug:
            return self.out(payload)
        try:
            await queue.enqueue(self.config.destination, run.event, run.profile)
        except NotFound as error:
            raise NodeError(str(error.detail)) from None
        return self.out(payload)


NODES = [SendToDestination]
