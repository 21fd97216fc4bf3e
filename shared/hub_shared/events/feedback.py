"""Satisfaction ratings on `hub.feedback.v1`: anonymous by construction.

A rating names the unit (and optionally the employee) rated and the day it was given, nothing else:
no case, no citizen, no address, no time of day. Intake releases ratings in shuffled batches, so the
publish time does not single out a visitor either.
"""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub_shared.events.base import Event, registry
from hub_shared.topics import FEEDBACK

class Aspects(BaseModel):
    """Optional 1-5 scores for how the visit went, as seed 004 lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    respect: int | None = Field(None, ge=1, le=5, description="احترام و ادب")
    speed: int | None = Field(None, ge=1, le=5, description="سرعت انجام کار")
    quality: int | None = Field(None, ge=1, le=5, description="کیفیت پاسخ")
    conduct: int | None = Field(None, ge=1, le=5, description="رفتار و پاسخگویی کارکنان")


@registry.register
class RatingSubmitted(Event):
    """A citizen rated a unit (and maybe one of its employees) after a visit."""

    event_type = "ir.hub.feedback.rating-submitted.v1"
    topic = FEEDBACK.name
    rating_id: UUID = Field(description="random; links to nothing")
    unit_id: str = Field(min_length=1, max_length=200)
    employee_id: str | None = Field(None, max_length=64)
    score: int = Field(ge=1, le=5)
    aspects: Aspects = Aspects()
    rated_on: date = Field(description="the day (Tehran time) the rating was given; no time of day is kept")

    def subject(self) -> str:
        return self.unit_id
