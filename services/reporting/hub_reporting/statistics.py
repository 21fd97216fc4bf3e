"""Case statistics over a set of case facts: counts, response times, rates. Pure functions, no I/O.

Response times are given twice: in calendar hours from registration to the final answer, and in working
days (`WorkingCalendar.working_days_between`, counted as routing counts deadlines: an answer on the last
day of an n-working-day deadline took n), on the working calendar of the unit that held the case last
(`CaseFact.calendar`; the standard one when no event named it)."""

import statistics as stats
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic import BaseModel

from hub_reporting.models import CaseFact
from hub_shared.calendar import Calendars
from hub_shared.jalali import as_utc


class Figures(BaseModel):
    received: int
    answered: int
    overdue: int
    response_hours_median: float | None
    response_hours_p90: float | None
    response_working_days_median: float | None
    response_working_days_p90: float | None
    on_time_rate: float | None
    reopen_rate: float | None
    transfers: int


class Group(Figures):
    key: str


def figures(facts: list[CaseFact], now: datetime, calendars: Calendars) -> Figures:
    answered = [f for f in facts if f.answered_at is not None]
    hours = sorted((as_utc(f.answered_at) - as_utc(f.registered_at)).total_seconds() / 3600 for f in answered)
    days = sorted(calendars.named(f.calendar).working_days_between(f.registered_at, f.answered_at) for f in answered)
    judged = [f.on_time for f in answered if f.on_time is not None]
    return Figures(
        received=len(facts), answered=len(answered), overdue=sum(_overdue(f, now) for f in facts),
        response_hours_median=round(stats.median(hours), 2) if hours else None,
        response_hours_p90=round(_percentile(hours, 0.9), 2) if hours else None,
        response_working_days_median=round(stats.median(days), 2) if days else None,
        response_working_days_p90=round(_percentile(days, 0.9), 2) if days else None,
        on_time_rate=round(sum(judged) / len(judged), 4) if judged else None,
        reopen_rate=round(sum(1 for f in answered if f.reopen_count) / len(answered), 4) if answered else None,
        transfers=sum(f.transfer_count for f in facts))


def _overdue(fact: CaseFact, now: datetime) -> bool:
    """Answered late, or still unanswered after its deadline."""
    if fact.answered_at is not None:
        return fact.on_time is False
    return fact.deadline_at is not None and as_utc(fact.deadline_at) < now


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (as numpy's default)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def grouped(facts: Iterable[CaseFact], key: Callable[[CaseFact], str], now: datetime, calendars: Calendars) -> list[Group]:
    buckets: dict[str, list[CaseFact]] = defaultdict(list)
    for fact in facts:
        buckets[key(fact)].append(fact)
    return [Group(key=name, **figures(members, now, calendars).model_dump()) for name, members in sorted(buckets.items())]


class TopicTrend(BaseModel):
    topic_id: str
    cases: int
    previous: int
    change: int


def top_topics(current: list[CaseFact], previous: list[CaseFact], limit: int = 10) -> list[TopicTrend]:
    now, before = Counter(f.topic_id or "unclassified" for f in current), Counter(f.topic_id or "unclassified" for f in previous)
    return [TopicTrend(topic_id=topic, cases=count, previous=before[topic], change=count - before[topic])
            for topic, count in sorted(now.items(), key=lambda item: (-item[1], item[0]))[:limit]]


class Ranked(Group):
    rank: int


def ranking(facts: list[CaseFact], min_cases: int, now: datetime, calendars: Calendars) -> list[Ranked]:
    """Units that held at least `min_cases` cases, best first: on-time rate, then median response time.
    Units with fewer cases are left out, so a unit with two lucky cases does not top the table."""
    eligible = [g for g in grouped(facts, lambda f: f.unit_id, now, calendars) if g.received >= min_cases]
    eligible.sort(key=lambda g: (-(g.on_time_rate or 0), g.response_hours_median if g.response_hours_median is not None else float("inf"), g.key))
    return [Ranked(rank=place, **g.model_dump()) for place, g in enumerate(eligible, start=1)]
