"""Open data: what anyone may read about an agency's cases (in a province), as numbers no person can be picked out
of. Pure functions, no I/O.

Every answer the endpoint gives is cut from one fixed table per agency and Jalali year, suppressed once for all
the answers together: the agency's table for the whole country and its table for every province (and for what
falls in no province, which is never published but protected as if it were), each a month by column table with
its totals. So the national answer minus the province answers, or a year minus its months, can only give back
what the year's table shows anyway. Disclosure control (`hub_reporting.suppression`), over that joint table:
1. every count from 1 to `threshold - 1` is hidden ("fewer than 5"); zeros are shown, they describe nobody;
2. no line of the joint table (a row with its total, a column with its total, a cell of the whole country with
   the same cell of every province) may hide exactly one number: in such a line the smallest shown positive
   number is hidden too, until no such line is left;
3. then an exact check: a hidden number that any combination of the shown numbers still determines (a chain
   of lines, not just one) gets a partner hidden beside it, and 2. and 3. repeat until none is left.
An answer for another period (a half, a quarter, a month, the last twelve finished months) shows the months of the year
tables as they are; its total is shown only where the year tables' shown numbers give it exactly (every month of
it shown, or the year's total and every other month of the year), so it says nothing new, and is hidden otherwise. A figure computed from a
base (a share, a median, a mean) is shown only when its base is shown."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import jdatetime

from hub_reporting.models import CaseFact
from hub_reporting.suppression import Line, _line_partners, conceal  # noqa: F401 (_line_partners: the open-data tests read it here)
from hub_shared.calendar import Calendars
from hub_shared.jalali import TEHRAN, as_utc

TOTAL = "total"
COUNTRY = "*"  # the scope of the whole country: every province, and what falls in none
ELSEWHERE = "~"  # the cases and ratings of the agency in no province of the reference data: never published alone
Key = tuple[str, str]
Cell = tuple[str, str, str]  # (scope, row, column): a province, COUNTRY or ELSEWHERE; a month or TOTAL; a column or TOTAL


@dataclass(frozen=True)
class Shown:
    """A number as published: `value` is None when it is hidden (`suppressed`) or there is nothing to compute it from."""

    value: int | float | None
    suppressed: bool = False


def jalali_month(moment: datetime) -> str:
    """`1405-09`: the Jalali month of an instant, on Tehran's clock (as offices count their months)."""
    day = jdatetime.date.fromgregorian(date=as_utc(moment).astimezone(TEHRAN).date())
    return f"{day.year}-{day.month:02d}"


def months_of_year(year: int) -> list[str]:
    return [f"{year}-{month:02d}" for month in range(1, 13)]


# --- the joint table of a year ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class YearTable:
    """One agency's counts of one Jalali year for the whole country and every province at once, with totals,
    and the cells to publish as hidden."""

    counts: dict[Cell, int]
    concealed: frozenset[Cell]

    def shown(self, scope: str, row: str, column: str) -> Shown:
        cell = (scope, row, column)
        return Shown(None, True) if cell in self.concealed else Shown(self.counts[cell])


def year_table(counts: dict[Cell, int], provinces: list[str], months: list[str], columns: list[str], threshold: int,
               row_totals: bool = True) -> YearTable:
    """The joint table of `counts` per (province or ELSEWHERE, month, column), suppressed. `row_totals`: each row
    has a TOTAL column (cases by kind); without, a one-column series (answers, ratings)."""
    parts = [*provinces, ELSEWHERE]
    grid = _with_margins(counts, parts, months, columns, row_totals)
    lines = _lines(parts, months, columns, row_totals)
    return YearTable(grid, frozenset(conceal(grid, lines, threshold)))


def _with_margins(counts: dict[Cell, int], parts: list[str], months: list[str], columns: list[str], row_totals: bool) -> dict[Cell, int]:
    every_column = [*columns, TOTAL] if row_totals else columns
    grid = {(part, month, column): counts.get((part, month, column), 0) for part in parts for month in months for column in columns}
    for part in parts:
        if row_totals:
            for month in months:
                grid[part, month, TOTAL] = sum(grid[part, month, column] for column in columns)
        for column in every_column:
            grid[part, TOTAL, column] = sum(grid[part, month, column] for month in months)
    for row in [*months, TOTAL]:
        for column in every_column:
            grid[COUNTRY, row, column] = sum(grid[part, row, column] for part in parts)
    return grid


def _lines(parts: list[str], months: list[str], columns: list[str], row_totals: bool) -> list[Line]:
    every_column = [*columns, TOTAL] if row_totals else columns
    lines = []
    for scope in [COUNTRY, *parts]:
        if row_totals:
            lines += [Line((scope, row, TOTAL), tuple((scope, row, column) for column in columns)) for row in [*months, TOTAL]]
        lines += [Line((scope, TOTAL, column), tuple((scope, month, column) for month in months)) for column in every_column]
    lines += [Line((COUNTRY, row, column), tuple((part, row, column) for part in parts))
              for row in [*months, TOTAL] for column in every_column]
    return lines


# --- one scope's answer, cut from the year tables -------------------------------------------------------------------

def view(tables: dict[int, YearTable], scope: str, months: list[str], columns: list[str]) -> dict[Key, Shown]:
    """(month or TOTAL, column) → as published, for `scope` over `months` (whole months of the years of `tables`).
    Each month is its year table's. The total adds up, for each year, the months of it in the period: the year
    table's own total for a whole year; otherwise what the year table's shown numbers give exactly (every such month
    shown, or the year's total and every other month of the year shown), so it says nothing new; hidden if not."""
    cells = {(month, column): tables[int(month[:4])].shown(scope, month, column) for month in months for column in columns}
    for column in columns:
        parts = [_part_of_year(tables[year], scope, [m for m in months if int(m[:4]) == year], column)
                 for year in sorted({int(month[:4]) for month in months})]
        cells[TOTAL, column] = Shown(None, True) if None in parts else Shown(sum(parts))
    return cells


def _part_of_year(table: YearTable, scope: str, months: list[str], column: str) -> int | None:
    """The sum of `months` of one year in `column`, if the year table's shown numbers give it exactly."""
    year = months_of_year(int(months[0][:4]))
    shown = {month: table.shown(scope, month, column) for month in year}
    if months == year:
        return table.shown(scope, TOTAL, column).value
    if not any(shown[month].suppressed for month in months):
        return sum(shown[month].value for month in months)
    whole = table.shown(scope, TOTAL, column)
    if not whole.suppressed and not any(shown[month].suppressed for month in year if month not in months):
        return whole.value - sum(shown[month].value for month in year if month not in months)
    return None


def derived(base: Shown, value: float | None) -> Shown:
    """A share, median or mean: shown only beside a shown, non-zero base."""
    if base.suppressed:
        return Shown(None, True)
    return Shown(value if base.value else None)


@dataclass(frozen=True)
class AnswerFigures:
    answered: Shown
    on_time_share: Shown
    median_working_days: Shown


def answers(facts: Iterable[CaseFact], bases: dict[str, Shown], months: list[str], calendars: Calendars,
            threshold: int) -> dict[str, AnswerFigures]:
    """Per month of the final answer (and in total): how many were answered (`bases`, as published), the share
    answered by their deadline, and the median answer time in working days on the calendar of the unit that answered."""
    by_month: dict[str, list[CaseFact]] = {month: [] for month in months}
    for fact in facts:
        by_month.setdefault(jalali_month(fact.answered_at), []).append(fact)
    by_month = {month: by_month[month] for month in months}
    groups = {**by_month, TOTAL: [fact for members in by_month.values() for fact in members]}
    return {month: _answer_figures(members, bases[month], calendars, threshold) for month, members in groups.items()}


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


def satisfaction(score_sums: dict[str, int], bases: dict[str, Shown], counts: dict[str, int],
                 months: list[str]) -> dict[str, SatisfactionFigures]:
    """Per month (and in total): how many ratings (`bases`, as published) and their mean score, from the number
    of ratings and the sum of their scores per month."""
    score_sums = {month: score_sums.get(month, 0) for month in months}
    counts = {month: counts.get(month, 0) for month in months}
    score_sums[TOTAL], counts[TOTAL] = sum(score_sums.values()), sum(counts.values())
    means = {month: round(score_sums[month] / n, 2) if (n := counts[month]) else None for month in [*months, TOTAL]}
    return {month: SatisfactionFigures(bases[month], derived(bases[month], means[month])) for month in [*months, TOTAL]}


# --- a single table, on its own -------------------------------------------------------------------------------------

def with_totals(counts: dict[Key, int], rows: list[str], columns: list[str]) -> dict[Key, int]:
    """The table of `counts` (row, column) with a total per row and per column and the grand total."""
    grid = {(row, column): counts.get((row, column), 0) for row in rows for column in columns}
    for row in rows:
        grid[row, TOTAL] = sum(grid[row, column] for column in columns)
    for column in [*columns, TOTAL]:
        grid[TOTAL, column] = sum(grid[row, column] for row in rows)
    return grid


def hidden(grid: dict[Key, int], rows: list[str], columns: list[str], threshold: int) -> set[Key]:
    """The cells of one table with totals (`with_totals`) to publish as "fewer than `threshold`", on its own."""
    every_row, every_column = [*rows, TOTAL], [*columns, TOTAL]
    lines = [Line((row, TOTAL), tuple((row, column) for column in columns)) for row in every_row]
    lines += [Line((TOTAL, column), tuple((row, column) for row in rows)) for column in every_column]
    return conceal(grid, lines, threshold)
