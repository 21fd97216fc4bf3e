"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the JSON body as the value.

Any agency's system can read these messages with a stock CloudEvents library.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from hub_shared.events import Event, registry

_FORMAT = JSONFormat()
CONTENT_TYPE = "application/json"
TRACEPARENT = "traceparent"


class MalformedMessage(ValueError):
    """A message that can never be processed: it goes to the DLQ without retries."""


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: Event
    traceparent: str | None = None


def wrap(event: Event, source: str) -> Envelope:
    return Envelope(
        id=str(uuid4()),
        type=event.event_type,
        source=source,
        subject=event.subject(),
        time=datetime.now(UTC),
        data=event,
    )


def to_kafka(envelope: Envelope) -> tuple[bytes, bytes, dict[str, str]]:
    """Key, value and headers of the Kafka record that carries `envelope`."""
    cloud_event = CloudEvent(
        attributes={
            "id": envelope.id,
            "source": envelope.source,
            "type": envelope.type,
            "subject": envelope.subject,
            "time": envelope.time,
            "datacontenttype": CONTENT_TYPE,
        },
        data=envelope.data.model_dump(mode="json"),
    )
    message = ce_kafka.to_binary(cloud_event, _FORMAT, key_mapper=lambda _: envelope.subject)
    headers = {name: value.decode() for name, value in message.headers.items()}
    if envelope.traceparent:
        headers[TRACEPARENT] = envelope.traceparent
    return envelope.subject.encode(), message.value, headers


def from_kafka(key: bytes | None, value: bytes | None, headers: dict[str, bytes], max_bytes: int) -> Envelope:
    """Parse and validate one record; raise MalformedMessage with a reason a person can act on."""
    if value is None or len(value) > max_bytes:
        raise MalformedMessage(f"body missing or larger than {max_bytes} bytes")
    attributes = {name: value for name, value in headers.items() if name.startswith("ce_") or name == "content-type"}
    try:
        cloud_event = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=attributes, key=key, value=value), _FORMAT)
    except Exception as exc:  # the library raises several types for bad attributes and bad JSON
        raise MalformedMessage(f"not a CloudEvents 1.0 binary-mode message: {exc}") from exc
    model = registry.model_for(cloud_event.get_type())
    if model is None:
        raise MalformedMessage(f"unknown event type {cloud_event.get_type()!r}")
    try:
        data = model.model_validate(cloud_event.get_data())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise MalformedMessage(f"{cloud_event.get_type()} body does not match its schema: {problems}") from exc
    traceparent = headers.get(TRACEPARENT, b"").decode(errors="replace")
    return Envelope(
        id=cloud_event.get_id(),
        type=cloud_event.get_type(),
        source=cloud_event.get_source(),
        subject=cloud_event.get_subject() or data.subject(),
        time=cloud_event.get_time() or datetime.now(UTC),
        data=data,
        traceparent=traceparent or None,
    )
