"""Finding facts of a case that a consumer group never applied, and sending them again from their owner's outbox.

Every fact on `hub.cases.v1` sits in its owner's outbox for the retention window, and every consumer group
records each fact it applied in its inbox. A fact that a group handles but has not applied, long enough
after it was published, is drift: the case's state differs between services (routed in routing,
registered in reporting). The repair puts the fact back in line in its owner's outbox; the relay
publishes it again, and every group that had it drops the copy by event id.

A fact is repaired only where the group applied nothing later of that case, so that applying it now puts
the group where it would have been. A group that went on with later facts of the case needs its view
rebuilt (reporting: `python -m hub_reporting rebuild`): that drift is reported, not repaired. A case the
group holds behind a dead letter is the DLQ's business (`hub dlq`, `hub holds`) and is left alone.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.consumer import HeldCase
from hub_shared.messaging import InboxEntry, OutboxMessage

DETAIL_CASES = 50  # cases named in a stored report; the command prints them all


@dataclass(frozen=True)
class Fact:
    event_id: str
    event_type: str
    case: str
    owner: str  # the service whose outbox holds it
    created_at: datetime


@dataclass(frozen=True)
class Group:
    """A consumer group of the case stream: its name and the fact types it handles."""

    name: str
    service: str
    handles: frozenset[str]


@dataclass
class Drift:
    """What one group lacks: facts it can take now (`repairable`) and facts behind later ones it applied."""

    group: str
    repairable: list[Fact] = field(default_factory=list)
    behind_later: list[Fact] = field(default_factory=list)


@dataclass
class Findings:
    checked: int
    drifts: list[Drift]

    @property
    def cases(self) -> set[str]:
        return {fact.case for drift in self.drifts for fact in (*drift.repairable, *drift.behind_later)}

    def repairable_by_owner(self) -> dict[str, set[str]]:
        owners: dict[str, set[str]] = defaultdict(set)
        for drift in self.drifts:
            for fact in drift.repairable:
                owners[fact.owner].add(fact.event_id)
        return owners

    @property
    def repairable(self) -> int:
        return sum(len(drift.repairable) for drift in self.drifts)

    @property
    def behind_later(self) -> int:
        return sum(len(drift.behind_later) for drift in self.drifts)


def compare(facts: list[Fact], groups: list[Group], applied: dict[str, set[str]], held: dict[str, set[str]]) -> Findings:
    """Which handled facts each group lacks; `applied` and `held` are per group (event ids, case keys)."""
    by_case: dict[str, list[Fact]] = defaultdict(list)
    for fact in sorted(facts, key=lambda fact: fact.created_at):
        by_case[fact.case].append(fact)
    drifts = []
    for group in groups:
        drift = Drift(group.name)
        for case, stream in by_case.items():
            if case in held.get(group.name, set()):
                continue
            mine = [fact for fact in stream if fact.event_type in group.handles]
            last_applied = max((n for n, fact in enumerate(mine) if fact.event_id in applied[group.name]), default=-1)
            for n, fact in enumerate(mine):
                if fact.event_id not in applied[group.name]:
                    (drift.repairable if n > last_applied else drift.behind_later).append(fact)
        if drift.repairable or drift.behind_later:
            drifts.append(drift)
    return Findings(checked=len(facts), drifts=drifts)


async def published_facts(session: AsyncSession, owner: str, topic: str, since: datetime, settled_before: datetime) -> list[Fact]:
    rows = await session.exec(select(OutboxMessage.event_id, OutboxMessage.key, OutboxMessage.headers, OutboxMessage.created_at).where(
        OutboxMessage.topic == topic, col(OutboxMessage.published_at).is_not(None),
        col(OutboxMessage.created_at) >= since, col(OutboxMessage.created_at) < settled_before))
    return [Fact(event_id, headers.get("ce_type", ""), key, owner, _aware(created)) for event_id, key, headers, created in rows.all()]


async def applied_ids(session: AsyncSession, group: str, since: datetime) -> set[str]:
    rows = await session.exec(select(InboxEntry.event_id).where(InboxEntry.consumer == group, col(InboxEntry.processed_at) >= since))
    return set(rows.all())


async def held_keys(session: AsyncSession, group: str) -> set[str]:
    return set((await session.exec(select(HeldCase.key).where(HeldCase.consumer == group))).all())


async def requeue(session: AsyncSession, event_ids: set[str]) -> int:
    """Put these published rows back in line; the relay sends them again in id order."""
    if not event_ids:
        return 0
    done = await session.execute(sa.update(OutboxMessage).where(col(OutboxMessage.event_id).in_(event_ids),
                                                                 col(OutboxMessage.published_at).is_not(None))
                                 .values(published_at=None, broker_epoch=None))
    return done.rowcount


class ReconcileReport(SQLModel, table=True):
    """The outcome of each reconcile run, kept by every service so that its readiness and metrics show it."""

    __tablename__ = "reconcile_report"

    id: int | None = Field(default=None, primary_key=True)
    ran_at: datetime
    window_hours: float
    facts_checked: int
    drifted_cases: int
    repaired: int
    needs_rebuild: int
    cases: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))


def report_row(findings: Findings, window: timedelta, repaired: int) -> ReconcileReport:
    return ReconcileReport(ran_at=datetime.now(UTC), window_hours=window.total_seconds() / 3600, facts_checked=findings.checked,
                           drifted_cases=len(findings.cases), repaired=repaired, needs_rebuild=findings.behind_later,
                           cases=sorted(findings.cases)[:DETAIL_CASES])


async def latest_report(session: AsyncSession) -> ReconcileReport | None:
    return (await session.exec(select(ReconcileReport).order_by(col(ReconcileReport.id).desc()).limit(1))).first()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
