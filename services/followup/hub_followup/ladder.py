"""The follow-up ladder (پیگیری): what happens to a case whose unit does not answer, step by step.

reminders before the deadline → at the deadline the SLA breach and the 1st follow-up → the 2nd → the 3rd,
with notice to the unit's superiors, and a final grace → escalation to the parent unit, and on up to the
agency HQ's performance office, each level with its own grace → a follow-up every few working days until
there is a result. Each step is a durable timer; firing one stages its events and schedules the next.

The intervals are in working days and come from a policy per agency (`ladder_policies/default.yaml`,
overridden key by key by `ladder_policies/<agency>.yaml`). They are counted on the working calendar of the
unit holding the case (`hub_shared.calendar`), which routing names on `CaseRouted` and on every move; the
ladder keeps it. Escalation graces too are counted on it: followup holds no organisation tree, so it does
not know the calendar of a unit it escalates to. Each step keeps what it is counted from, so a move to a unit
on another calendar counts the steps still ahead again (`recount`).
"""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_followup.models import Ladder, Timer, TimerStatus
from hub_shared.calendar import WorkingCalendar
from hub_shared.events import CaseEscalated, Event, FollowUpSent, ReminderSent, SlaBreached
from hub_shared.jalali import as_utc

POLICY_DIR = Path(__file__).parent / "ladder_policies"
PERFORMANCE_OFFICE = "performance-office"
ANSWER_DEADLINE = "answer_deadline"
WAITING = (TimerStatus.pending.value, TimerStatus.paused.value, TimerStatus.failed.value)  # not fired yet: a failed step
# may be retried, so it moves with its case and is cancelled with it
log = logging.getLogger(__name__)


class LadderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_FOLLOWUP_", env_file=".env", extra="ignore")

    policy_dir: Path | None = Field(None, description="Folder of ladder policies (default.yaml, <agency>.yaml); empty: the shipped ones")


class LadderPolicy(BaseModel):
    """How long a unit is given at each step, in working days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reminders_before_deadline: tuple[PositiveInt, ...] = Field(description="remind the unit this many working days before the deadline")
    follow_up_every: PositiveInt = Field(description="the 2nd follow-up this long after the 1st (at the deadline), the 3rd after the 2nd")
    final_grace: PositiveInt = Field(description="after the 3rd follow-up, with notice to superiors, before escalating")
    escalation_grace: PositiveInt = Field(description="each escalation's grace before the next level up")
    repeat_every: PositiveInt = Field(description="at the top of the agency: follow up again this often until there is a result")
    reopened_working_days: PositiveInt = Field(30, description="the new deadline of a reopened case")
    pause_on_information_request: bool = Field(description="the clock stops while the citizen is asked for information")

    @field_validator("reminders_before_deadline")
    @classmethod
    def _distinct_and_descending(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(days)) != len(days):
            raise ValueError(f"reminder days repeat: {list(days)}")
        return tuple(sorted(days, reverse=True))


class Policies:
    def __init__(self, default: LadderPolicy, by_agency: dict[str, LadderPolicy]) -> None:
        self.default, self._by_agency = default, by_agency

    def of(self, agency: str) -> LadderPolicy:
        return self._by_agency.get(agency, self.default)


def load_policies(directory: Path) -> Policies:
    """Read and check every policy file; a bad one stops the service, naming the file and the problem."""
    default_raw = _read(directory / "default.yaml")
    default = _validate(directory / "default.yaml", default_raw)
    by_agency = {path.stem: _validate(path, {**default_raw, **_read(path)})
                 for path in sorted(directory.glob("*.yaml")) if path.stem != "default"}
    return Policies(default, by_agency)


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as invalid:
        raise SystemExit(f"follow-up ladder policy {path}: {invalid}") from None
    if not isinstance(raw, dict):
        raise SystemExit(f"follow-up ladder policy {path}: expected a mapping of settings, found {type(raw).__name__}")
    return raw


def _validate(path: Path, raw: dict) -> LadderPolicy:
    try:
        return LadderPolicy.model_validate(raw)
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in invalid.errors())
        raise SystemExit(f"follow-up ladder policy {path}: {problems}") from None


@functools.cache
def policies() -> Policies:
    return load_policies(LadderSettings().policy_dir or POLICY_DIR)


def agency_of(unit_id: str) -> str:
    return unit_id.split("/")[0]


def parent_unit(unit_id: str) -> str | None:
    """The performance office one level up, guessed from the id, or None at the top of the agency.

    `labour/isfahan/kashan/performance-office` → `labour/isfahan/performance-office` → `labour/performance-office`.
    Follow-up holds no organisation tree; consuming `hub.org.v1` would give the real parent."""
    segments = unit_id.split("/")
    top = f"{segments[0]}/{PERFORMANCE_OFFICE}"
    if len(segments) < 2 or unit_id == top:
        return None
    return "/".join([*segments[:-2], PERFORMANCE_OFFICE]) if len(segments) > 2 else top


# --- the steps ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """A timer to set: `name` is unique within the case's ladder (`reminder-5`, `answer_deadline`,
    `follow-up-2`, `follow-up-3`, `escalation-1`, `repeat-1`, ...); `unit_id` is the unit it addresses. It is
    due `working_days` working days after `counted_from` (before it, when negative)."""

    name: str
    due_at: datetime
    unit_id: str
    counted_from: datetime | None = None
    working_days: int = 0


def counted(name: str, days: WorkingCalendar, start: datetime, working_days: int, unit_id: str) -> Step:
    return Step(name, days.shift(start, working_days), unit_id, start, working_days)


def first_steps(policy: LadderPolicy, days: WorkingCalendar, deadline_at: datetime, unit_id: str, now: datetime) -> list[Step]:
    """The reminders still ahead, and the deadline itself."""
    reminders = [counted(f"reminder-{n}", days, deadline_at, -n, unit_id) for n in policy.reminders_before_deadline]
    return [step for step in reminders if step.due_at > now] + [Step(ANSWER_DEADLINE, deadline_at, unit_id, deadline_at)]


def climb(ladder: Ladder, timer: Timer, policy: LadderPolicy, days: WorkingCalendar, now: datetime) -> tuple[list[Event], Step | None]:
    """What a due step does: the events it publishes and the step after it (counted from its due time,
    so a step fired late does not push the rest of the ladder later)."""
    kind, _, number = timer.step.rpartition("-")
    unit, due = timer.unit_id, as_utc(timer.due_at)
    case = {"case_id": ladder.case_id, "tracking_code": ladder.tracking_code, "ladder": timer.ladder}
    if timer.step == ANSWER_DEADLINE:
        return [SlaBreached(**case, unit_id=unit, deadline_at=as_utc(ladder.deadline_at), breached_at=now),
                FollowUpSent(**case, unit_id=unit, level=1, sent_at=now)], \
            counted("follow-up-2", days, due, policy.follow_up_every, unit)
    if kind == "reminder":
        return [ReminderSent(**case, unit_id=unit, days_left=int(number), deadline_at=as_utc(ladder.deadline_at), sent_at=now)], None
    if kind == "follow-up" and number == "2":
        return [FollowUpSent(**case, unit_id=unit, level=2, sent_at=now)], counted("follow-up-3", days, due, policy.follow_up_every, unit)
    if kind == "follow-up":
        return [FollowUpSent(**case, unit_id=unit, level=3, notice_to_superiors=True, sent_at=now)], \
            _up_or_again(1, unit, days, due, policy.final_grace)
    if kind == "escalation" and (parent := parent_unit(unit)):
        return [CaseEscalated(**case, from_unit=unit, to_unit=parent, level=int(number), escalated_at=now)], \
            _up_or_again(int(number) + 1, parent, days, due, policy.escalation_grace)
    if kind == "escalation":  # moved to the top of an agency while waiting: nothing left to escalate to
        return [], Step("repeat-1", due, unit, due)
    repeat = int(number)
    return [FollowUpSent(**case, unit_id=unit, level=3, repeat=repeat, sent_at=now)], \
        counted(f"repeat-{repeat + 1}", days, due, policy.repeat_every, unit)


def _up_or_again(level: int, unit_id: str, days: WorkingCalendar, start: datetime, working_days: int) -> Step:
    """Escalate one level further, or, at the top of the agency, follow up again and again."""
    return counted(f"escalation-{level}" if parent_unit(unit_id) else "repeat-1", days, start, working_days, unit_id)


def timer_for(ladder: Ladder, step: Step, now: datetime) -> Timer:
    return Timer(**timer_row(ladder, step, now))


def timer_row(ladder: Ladder, step: Step, now: datetime) -> dict:
    """The columns of the timer of `step` (for `hub_shared.pending.add_row`)."""
    return {"case_id": ladder.case_id, "ladder": ladder.number, "tracking_code": ladder.tracking_code, "unit_id": step.unit_id,
            "confidential": ladder.confidential, "about_employee": ladder.about_employee, "step": step.name,
            "due_at": step.due_at, "counted_from": step.counted_from, "working_days": step.working_days,
            "status": TimerStatus.pending.value, "created_at": now}


async def recount(session: AsyncSession, ladder: Ladder, days: WorkingCalendar) -> int:
    """Count the ladder's waiting steps again on `days` (the case moved to a unit on another calendar): each
    stays the same number of working days from what it was counted from. Steps set before they kept that
    (migration 0008) keep their due time. How many moved."""
    timers = (await session.exec(select(Timer).where(Timer.case_id == ladder.case_id, Timer.ladder == ladder.number,
                                                     col(Timer.status).in_(WAITING), col(Timer.counted_from).is_not(None)))).all()
    moved = 0
    for timer in timers:
        due_at = days.shift(as_utc(timer.counted_from), timer.working_days or 0)
        if due_at != as_utc(timer.due_at):
            timer.due_at, moved = due_at, moved + 1
            session.add(timer)
    return moved


# --- the clock stops while the citizen is asked for information ---------------------------------------

async def pause_clock(session: AsyncSession, case_id: UUID, at: datetime) -> bool:
    """Stop the case's ladder at `at` if its agency's policy pauses on information requests; return whether it does."""
    ladder = await session.get(Ladder, case_id)
    if ladder is None or ladder.closed_at is not None:
        log.warning("no open ladder for case %s: its clock cannot pause", case_id)
        return False
    if not policies().of(ladder.agency).pause_on_information_request:
        return False
    if ladder.paused_at is None:
        ladder.paused_at = as_utc(at)
        session.add(ladder)
        await session.execute(update(Timer).where(col(Timer.case_id) == case_id, col(Timer.status) == TimerStatus.pending.value)
                              .values(status=TimerStatus.paused.value, lease_owner=None, lease_until=None))
        log.info("ladder of case %s paused at %s", case_id, at.isoformat())
    return True


async def resume_clock(session: AsyncSession, case_id: UUID, at: datetime) -> None:
    """Restart a paused ladder: every waiting step, and the deadline, move later by the time the clock stood still."""
    ladder = await session.get(Ladder, case_id)
    if ladder is None or ladder.paused_at is None:
        return
    stood_still = max(as_utc(at) - as_utc(ladder.paused_at), timedelta(0))
    timers = (await session.exec(select(Timer).where(Timer.case_id == case_id, Timer.status == TimerStatus.paused.value))).all()
    for timer in timers:
        timer.due_at, timer.status = as_utc(timer.due_at) + stood_still, TimerStatus.pending.value
        if timer.counted_from is not None:  # so that a later recount keeps the time the clock stood still
            timer.counted_from = as_utc(timer.counted_from) + stood_still
        session.add(timer)
    ladder.deadline_at, ladder.paused_at = as_utc(ladder.deadline_at) + stood_still, None
    session.add(ladder)
    log.info("ladder of case %s resumed; %d steps moved %s later", case_id, len(timers), stood_still)
