"""The topic catalog: the single source of topic names, keys and partition counts.

Partition counts are fixed at creation (the embedded broker cannot add partitions later), and they
cap how many replicas of a consumer can share the work.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str
    purpose: str


INBOUND = Topic("hub.inbound.v1", 6, "external reference", "untrusted commands from agency systems and gateways")
CASES = Topic("hub.cases.v1", 12, "case id", "facts of a case's life, one ordered stream per case")
FEEDBACK = Topic("hub.feedback.v1", 6, "unit id", "anonymous satisfaction ratings")
NOTIFICATIONS = Topic("hub.notifications.v1", 6, "case id", "SMS / e-mail to send to a citizen")
ORG = Topic("hub.org.v1", 3, "unit id", "organisation-tree changes")
DLQ = Topic("hub.dlq.v1", 3, "original key", "messages that failed past their retries")
# A dead letter's own headers (the consumer writes them, `hub dlq` reads them) start with this; the rest are the original's.
DLQ_HEADER_PREFIX = "hub_dlq_"
BODY_OMITTED = "hub_dlq_body_omitted"  # on a letter whose body the DLQ refused: why; the body is at the origin offset

ALL_TOPICS: tuple[Topic, ...] = (INBOUND, CASES, FEEDBACK, NOTIFICATIONS, ORG, DLQ)
