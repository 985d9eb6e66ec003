"""AMQP 0-9-1 (RabbitMQ) through aio-pika: publish to an existing exchange."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
from pydantic import Field

from kith.destinations.kind import Attempt, DestinationKind, KindConfig, Outgoing
from kith.destinations.retry import failed


class AmqpConfig(KindConfig):
    url: str = Field(
        pattern=r"^amqps?://\S+$",
        max_length=4096,
        description="`amqp://user:password@host:5672/vhost` (write-only: it holds the password).",
    )
    exchange: str = Field(
        max_length=255, description='An existing exchange (`""` is the default exchange).'
    )
    routing_key: str = Field("", max_length=255)
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds per attempt.")


class Amqp(DestinationKind[AmqpConfig]):
    """Publishes the payload as a persistent JSON message (`content_type`
    `application/json`, `message_id` the delivery id, the same on every retry) to an
    existing exchange, with publisher confirms: a delivery counts once the broker
    confirmed it. A missing exchange or a refused login is final; a broker that is
    down or a timeout is retried. Example config: `{"url":
    "amqp://guest:guest@127.0.0.1:5672/", "exchange": "kith", "routing_key": "orders"}`."""

    kind = "amqp"
    name = "AMQP (RabbitMQ)"
    config_model = AmqpConfig
    secrets = ("url",)

    def __init__(self, config: AmqpConfig, mapping: Any) -> None:
        super().__init__(config, mapping)
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ready(self) -> aio_pika.abc.AbstractExchange:
        async with self._lock:
            if self._exchange is None or self._connection is None or self._connection.is_closed:
                await self.close()
                connection = await aio_pika.connect(self.config.url, timeout=self.config.timeout)
                try:
                    channel = await connection.channel(publisher_confirms=True)
                    if self.config.exchange:
                        exchange = await channel.get_exchange(self.config.exchange, ensure=True)
                    else:
                        exchange = channel.default_exchange
                except BaseException:
                    await connection.close()
                    raise
                self._connection, self._exchange = connection, exchange
            return self._exchange

    async def close(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def send(self, batch: list[Outgoing]) -> Attempt:
        (item,) = batch
        message = aio_pika.Message(
            item.body.encode(),
            content_type="application/json",
            message_id=item.id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            exchange = await self._ready()
            await exchange.publish(
                message, self.config.routing_key, mandatory=False, timeout=self.config.timeout
            )
        except (
            aio_pika.exceptions.ChannelNotFoundEntity,
            aio_pika.exceptions.ProbableAuthenticationError,
            aio_pika.exceptions.AuthenticationError,
        ) as error:
            await self.close()
            return failed(error, retry=False)
        except (aio_pika.exceptions.AMQPError, OSError, TimeoutError) as error:
            await self.close()
            return failed(error)
        return Attempt(answer="confirmed by the broker")
