"""Open data: what anyone may read about an agency's cases (in a province), as numbers no person can be picked out
of. Pure functions, no I/O.

Disclosure control in two passes over a table whose totals are published with it:
1. every count from 1 to `threshold - 1` is hidden ("fewer than 5"); zeros are shown, they describe nobody;
2. a hidden count must not be recoverable by subtracting the shown ones from a total: in every row and column
   (its total included) that hides exactly one number, the smallest shown positive number is hidden too, until
   no such line is left.
A figure computed from a base (a share, a median, a mean) is shown only when its base is shown."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import jdatetime

from hub_reporting.models import CaseFact
from hub_shared.calendar import Calendars
from hub_shared.jalali import TEHRAN, as_utc

TOTAL = "total"
Key = tuple[str, str]


@dataclass(frozen=True)
class Shown:
    """A number as published: `value` is None when it is hidden (`suppressed`) or there is nothing to compute it from."""

    value: int | float | None
    suppressed: bool = False


def jalali_month(moment: datetime) -> str:
    """`1405-09`: the Jalali month of an instant, on Tehran's clock (as offices count their months)."""
    day = jdatetime.date.fromgregorian(date=as_utc(moment).astimezone(TEHRAN).date())
    return f"{day.year}-{day.month:02d}"


def with_totals(counts: dict[Key, int], rows: list[str], columns: list[str]) -> dict[Key, int]:
    """The table of `counts` (row, column) with a total per row and per column and the grand total."""
    grid = {(row, column): counts.get((row, column), 0) for row in rows for column in columns}
    for row in rows:
        grid[row, TOTAL] = sum(grid[row, column] for column in columns)
    for column in [*columns, TOTAL]:
        grid[TOTAL, column] = sum(grid[row, column] for row in rows)
    return grid


def hidden(grid: dict[Key, int], rows: list[str], columns: list[str], threshold: int) -> set[Key]:
    """The cells of a table with totals (`with_totals`) to publish as "fewer than `threshold`"."""
    concealed = {key for key, count in grid.items() if 0 < count < threshold}
    every_row, every_column = [*rows, TOTAL], [*columns, TOTAL]
    lines = [[(row, column) for column in every_column] for row in every_row]
    lines += [[(row, column) for row in every_row] for column in every_column]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(key in concealed for key in line) == 1 and (partner := _smallest_shown(grid, line, concealed)):
                concealed.add(partner)
                changed = True
    return concealed


def _smallest_shown(grid: dict[Key, int], line: list[Key], concealed: set[Key]) -> Key | None:
    shown = [key for key in line if key not in concealed and grid[key] > 0]
    return min(shown, key=lambda key: (grid[key], key)) if shown else None


def published(grid: dict[Key, int], concealed: set[Key]) -> dict[Key, Shown]:
    return {key: Shown(None, True) if key in concealed else Shown(count) for key, count in grid.items()}


def derived(base: Shown, value: float | None) -> Shown:
    """A share, median or mean: shown only beside a shown, non-zero base."""
    if base.suppressed:
        return Shown(None, True)
    return Shown(value if base.value else None)


def cases_by_kind(facts: Iterable[CaseFact], months: list[str], kinds: list[str], threshold: int) -> dict[Key, Shown]:
    """Cases registered per (month, kind), with totals, as published."""
    counts: dict[Key, int] = {}
    for fact in facts:
        key = (jalali_month(fact.registered_at), fact.kind)
        counts[key] = counts.get(key, 0) + 1
    grid = with_totals(counts, months, kinds)
    return published(grid, hidden(grid, months, kinds, threshold))


@dataclass(frozen=True)
class AnswerFigures:
    answered: Shown
    on_time_share: Shown
    median_working_days: Shown


def answers(facts: Iterable[CaseFact], months: list[str], calendars: Calendars, threshold: int) -> dict[str, AnswerFigures]:
    """Per month of the final answer (and in total): how many were answered, the share answered by their deadline,
    and the median answer time in working days on the calendar of the unit that answered."""
    by_month: dict[str, list[CaseFact]] = {month: [] for month in months}
    for fact in facts:
        by_month.setdefault(jalali_month(fact.answered_at), []).append(fact)
    by_month = {month: by_month[month] for month in months}
    shown = _series({month: len(members) for month, members in by_month.items()}, months, threshold)
    groups = {**by_month, TOTAL: [fact for members in by_month.values() for fact in members]}
    return {month: _answer_figures(members, shown[month], calendars, threshold) for month, members in groups.items()}


def _answer_figures(facts: list[CaseFact], base: Shown, calendars: Calendars, threshold: int) -> AnswerFigures:
    judged = [fact.on_time for fact in facts if fact.on_time is not None]
    days = [calendars.named(fact.calendar).working_days_between(fact.registered_at, fact.answered_at) for fact in facts]
    if 0 < len(judged) < threshold:  # answers without a deadline are not judged: the share's own base is smaller
        share = Shown(None, True)
    else:
        share = derived(base, round(sum(judged) / len(judged), 4) if judged else None)
    return AnswerFigures(answered=base, on_time_share=share,
                         median_working_days=derived(base, round(statistics.median(days), 2) if days else None))


@dataclass(frozen=True)
class SatisfactionFigures:
    ratings: Shown
    mean_score: Shown


def satisfaction(sums: dict[str, tuple[int, int]], months: list[str], threshold: int) -> dict[str, SatisfactionFigures]:
    """Per month (and in total): how many ratings, and their mean score, from (ratings, sum of scores) per month."""
    sums = {month: sums.get(month, (0, 0)) for month in months}
    sums[TOTAL] = (sum(n for n, _ in sums.values()), sum(s for _, s in sums.values()))
    shown = _series({month: n for month, (n, _) in sums.items() if month != TOTAL}, months, threshold)
    return {month: SatisfactionFigures(shown[month], derived(shown[month], round(total / n, 2) if n else None))
            for month, (n, total) in sums.items()}


def _series(counts: dict[str, int], months: list[str], threshold: int) -> dict[str, Shown]:
    """A count per month and its total, as published: a table of one column."""
    grid = with_totals({(month, "n"): count for month, count in counts.items()}, months, ["n"])
    cells = published(grid, hidden(grid, months, ["n"], threshold))
    return {month: cells[month, "n"] for month in [*months, TOTAL]}
