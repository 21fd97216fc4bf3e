"""Requests to tell a citizen about their case, on `hub.notifications.v1`, keyed by case id.

Intake holds the citizens' contact data, so intake alone sends SMS and e-mail; other services ask it
to with `NotificationRequested`. A request names the case and a template; its parameters are shown
to the citizen and must not carry personal data (intake adds the contact when it sends).
"""

import re
from enum import Enum
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from hub_shared.events.base import Event, registry
from hub_shared.topics import NOTIFICATIONS

MAX_PARAMS = 12
MAX_PARAM_CHARS = 500
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
ParamValue = Annotated[str, StringConstraints(max_length=MAX_PARAM_CHARS)]

# ten or more digits in a row (a national ID, a phone; \d matches Persian digits too) or an e-mail address
_PERSONAL = re.compile(r"\d{10,}|[^@\s]+@[^@\s]+")


class NotificationTemplate(str, Enum):
    """What the citizen is told; intake holds the Persian text of each and adds the case number and
    tracking code. Parameters each needs: registered: registered_jalali; referred: unit_name,
    deadline_jalali; rejected: reason_fa, reason_en; reopened and answered: none; information_requested:
    details (what the office needs from the citizen)."""

    registered = "registered"
    referred = "referred"
    rejected = "rejected"
    reopened = "reopened"
    answered = "answered"
    information_requested = "information_requested"


def check_params(params: dict[str, str]) -> dict[str, str]:
    """Refuse parameter values that look like a phone number, a national ID or an e-mail address. A guard
    against mistakes, not a proof: the error names the parameter, never its value."""
    for name, value in params.items():
        if _PERSONAL.search(value):
            raise ValueError(f"parameter {name!r} looks like a phone number, national ID or e-mail address; "
                             "notification parameters must not carry personal data")
    return params


@registry.register
class NotificationRequested(Event):
    """Send the citizen of this case the named template (by SMS, and by e-mail when they gave one)."""

    event_type = "ir.hub.notification.requested.v1"
    topic = NOTIFICATIONS.name
    case_id: UUID
    tracking_code: str = Field(max_length=32, description="the case's tracking code; a mismatch drops the request")
    template: NotificationTemplate
    params: dict[ParamName, ParamValue] = Field(
        default_factory=dict, max_length=MAX_PARAMS, json_schema_extra={"additionalProperties": False},
        description="values the template shows (e.g. unit_name, deadline_jalali, reason_fa); no personal data")

    @field_validator("params")
    @classmethod
    def _no_personal_data(cls, params: dict[str, str]) -> dict[str, str]:
        return check_params(params)

    def subject(self) -> str:
        return str(self.case_id)
