import json
from pathlib import Path

from hub_shared.events import registry
from hub_shared.topics import ALL_TOPICS

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_published_schemas_match_the_models() -> None:
    """docs/schemas is what agencies read; regenerate it with `./hub schemas` after changing an event."""
    published = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.json")}
    assert published == registry.json_schemas()


def test_every_event_type_is_versioned_and_goes_to_a_catalog_topic() -> None:
    topics = {topic.name for topic in ALL_TOPICS}
    for model in registry.all():
        assert model.event_type.startswith("ir.hub.") and model.event_type.rsplit(".", 1)[1].startswith("v")
        assert model.topic in topics
