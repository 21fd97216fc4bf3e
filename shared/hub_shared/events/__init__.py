"""Versioned event and command bodies: the bus contract.

Every body is a pydantic model with a CloudEvents `type`; the JSON Schema of each is exported by
`hub schemas` and appears in each service's AsyncAPI document.
"""

from hub_shared.events.base import Event, EventRegistry, registry
from hub_shared.events.cases import (
    CaseKind,
    CaseRegistered,
    CaseRejected,
    CaseRouted,
    Channel,
    DeadlineScheduled,
    RoutingDecision,
    Target,
)

__all__ = [
    "CaseKind",
    "CaseRegistered",
    "CaseRejected",
    "CaseRouted",
    "Channel",
    "DeadlineScheduled",
    "Event",
    "EventRegistry",
    "RoutingDecision",
    "Target",
    "registry",
]
