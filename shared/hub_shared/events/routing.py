"""Moves of a case after routing, made by people: transferred to another agency, forwarded down to a
sub-unit, returned to the body that referred it. The answer deadline keeps running through every move;
a move names the new unit's working calendar, which the steps still ahead are counted on."""

from pydantic import AwareDatetime, Field

from hub_shared.events.base import registry
from hub_shared.events.cases import _CaseEvent


@registry.register
class CaseTransferred(_CaseEvent):
    """The case belongs to another agency: it moves there. A transfer never closes the case and the
    deadline stays as it was; the number of transfers is limited."""

    event_type = "ir.hub.case.transferred.v1"
    from_unit: str
    unit_id: str
    unit_name: str
    agency: str
    transfers: int = Field(ge=1)
    deadline_at: AwareDatetime
    reason: str = Field(max_length=1000)
    by: str
    transferred_at: AwareDatetime
    calendar: str | None = Field(None, max_length=64, description=(
        "the working calendar of the unit the case moves to; the follow-ups still ahead are counted on it. "
        "Absent on older events: the standard one"))


@registry.register
class CaseForwarded(_CaseEvent):
    """The unit holding the case handed it down to one of its sub-units."""

    event_type = "ir.hub.case.forwarded.v1"
    from_unit: str
    unit_id: str
    unit_name: str
    reason: str = Field(max_length=1000)
    by: str
    forwarded_at: AwareDatetime
    calendar: str | None = Field(None, max_length=64, description=(
        "the working calendar of the sub-unit the case moves to; the follow-ups still ahead are counted on it. "
        "Absent on older events: the standard one"))


@registry.register
class CaseReturned(_CaseEvent):
    """Outside the office's mandate: sent back to the body that referred it (or archived when the citizen
    filed it directly), with the reason."""

    event_type = "ir.hub.case.returned.v1"
    reason_code: str
    reason_fa: str
    reason_en: str
    returned_to: str | None = Field(None, description="the referring system, when the case came from one")
    by: str = Field(description="'routing' when a rule returned it, else the staff member")
    returned_at: AwareDatetime
