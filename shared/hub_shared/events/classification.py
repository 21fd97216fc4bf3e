"""A case's topic as staff settled it, on `hub.cases.v1`: intake suggests a topic at registration
(`CaseRegistered.topic_id`), and an expert, office manager or inspector confirms or corrects it."""

from pydantic import AwareDatetime, Field

from hub_shared.events.base import registry
from hub_shared.events.cases import _CaseEvent

TOPIC_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"


@registry.register
class CaseClassified(_CaseEvent):
    """A staff member confirmed or corrected the case's topic. Carries labels only, never the citizen's text.
    The fields say `topic_id`, not `topic`, which is every event's Kafka topic."""

    event_type = "ir.hub.case.classified.v1"
    topic_id: str = Field(pattern=TOPIC_ID, max_length=64, description="the topic now, an id of hub_shared/reference/topics.yaml")
    previous_topic_id: str | None = Field(None, pattern=TOPIC_ID, max_length=64,
                                          description="the topic before: intake's suggestion or an earlier decision")
    confirmed: bool = Field(description="true when the topic stays what it was (a confirmation), false for a correction")
    by: str = Field(min_length=1, max_length=128, description="the staff member (token subject) who decided")
    classified_at: AwareDatetime
