from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A body on the bus. `event_type` is the CloudEvents `type`; its suffix is the schema version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]

    def subject(self) -> str:
        """The CloudEvents `subject` and the Kafka key."""
        raise NotImplementedError


class EventRegistry:
    def __init__(self) -> None:
        self._by_type: dict[str, type[Event]] = {}

    def register(self, model: type[Event]) -> type[Event]:
        if model.event_type in self._by_type:
            raise ValueError(f"event type {model.event_type} registered twice")
        self._by_type[model.event_type] = model
        return model

    def model_for(self, event_type: str) -> type[Event] | None:
        return self._by_type.get(event_type)

    def all(self) -> list[type[Event]]:
        return sorted(self._by_type.values(), key=lambda m: m.event_type)

    def json_schemas(self) -> dict[str, dict]:
        """The published JSON Schema of every event type, as `docs/schemas/<type>.json` holds it."""
        return {model.event_type: {"$id": model.event_type, "x-topic": model.topic, **model.model_json_schema()}
                for model in self.all()}


registry = EventRegistry()
