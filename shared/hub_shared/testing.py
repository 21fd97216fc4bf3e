"""Fast handler tests: deliver events to a service through FastStream's in-memory Kafka broker.

The real-broker tiers (tests/integration, tests/e2e) prove the same paths against tansu or Kafka.
"""

import asyncio
import random
from pathlib import Path

from faststream.kafka import TestKafkaBroker
from sqlmodel import select

from hub_shared.auth import AuthSettings, Role, Scope, mint
from hub_shared.envelope import Envelope, to_kafka, wrap
from hub_shared.events import Event
from hub_shared.messaging import OutboxMessage
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.text import is_valid_national_id, national_id_check_digit


def sqlite_runtime(create_runtime, service: str, data_dir: Path) -> Runtime:
    runtime = create_runtime(HubSettings(service_name=service, data_dir=data_dir, database_url=""))
    runtime.migrate()
    return runtime


async def deliver(runtime: Runtime, *items: Event | Envelope) -> None:
    """Publish each event (or an exact envelope, to redeliver it) to the service's subscribers."""
    async with TestKafkaBroker(runtime.broker) as broker:
        for item in items:
            envelope = item if isinstance(item, Envelope) else wrap(item, "/test")
            key, value, headers = to_kafka(envelope)
            await broker.publish(value, envelope.data.topic, key=key, headers=headers)


async def deliver_batch(runtime: Runtime, group: str, *items: Event | Envelope) -> None:
    """Hand every item to the consumer group `group` of the service as one batch, as a poll that brought them all
    would (the in-memory broker of `deliver` hands them over one at a time)."""
    from aiokafka import ConsumerRecord

    from hub_shared.consumer import BatchConsumer

    records = []
    for offset, item in enumerate(items):
        envelope = item if isinstance(item, Envelope) else wrap(item, "/test")
        key, value, headers = to_kafka(envelope)
        records.append(ConsumerRecord(topic=envelope.data.topic, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key,
                                      value=value, checksum=None, serialized_key_size=len(key), serialized_value_size=len(value),
                                      headers=[(name, content.encode()) for name, content in headers.items()]))
    sub = next(sub for sub in runtime.subscriptions if sub.group == group)
    await BatchConsumer(runtime.broker, runtime.settings, runtime.sessions, sub).process(records)


async def staged(runtime: Runtime) -> list[Envelope]:
    """The events the service put in its outbox, oldest first."""
    from hub_shared.envelope import from_kafka

    async with runtime.sessions() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [from_kafka(row.key.encode(), row.value, {k: v.encode() for k, v in row.headers.items()}, 10**7) for row in rows]


def bearer(role: Role, unit: str = "national", subject: str = "tester", scopes: list[Scope] | None = None) -> dict[str, str]:
    """An Authorization header signed with the key the process runs with (the development default in tests)."""
    return {"authorization": f"Bearer {mint(AuthSettings(), subject, role, unit, scopes=scopes)}"}


def random_national_id() -> str:
    """A valid national ID (checksum and all) that is nobody's in particular: tests and benchmarks file
    cases for many citizens, since one citizen's repeated matter is linked, not registered again."""
    while True:
        body = f"{random.randrange(10**9):09d}"
        national_id = body + str(national_id_check_digit(body))
        if is_valid_national_id(national_id):  # not ten of one digit
            return national_id


class LateApp:
    """An ASGI app that forwards to one set later: for two in-process apps that call each other (the gateway
    and a remote's simulator), each built with a transport to the other."""

    app = None

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


class RecordingBroker:
    """Stands in for the broker under an outbox relay: keeps what is published and acknowledges it at once."""

    def __init__(self) -> None:
        self.delivered: list[bytes] = []

    async def publish(self, value: bytes, topic: str, *, key: bytes, headers: dict, no_confirm: bool) -> asyncio.Future:
        self.delivered.append(value)
        answer = asyncio.get_running_loop().create_future()
        answer.set_result(None)
        return answer
