"""Complementary (secondary) suppression: which numbers of a table to hide so that none of them can be worked out
from the shown ones and the table's sums. Pure functions, no I/O; open data and the satisfaction views both use it.

A table is its counts per cell and its `Line`s, each saying that one cell (a total) is the sum of others (its
members): a reader knows the lines, so a total less its shown members gives the hidden ones away. Every count from
1 to `threshold - 1` is hidden; then, in every line that hides exactly one number, the smallest shown positive one
is hidden too, until no such line is left; then (unless told the table is a hierarchy) an exact check over the
null space of the lines hides a partner beside any hidden number a chain of lines still determines. Zeros are
shown: they describe nobody. What holds for the counts holds for any other sum over the same cells (the sum of the
scores, an aspect's count and sum): the same lines with the same cells hidden determine nothing more."""

import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """`total` is the sum of `members`: any reader of the published numbers knows it."""

    total: object
    members: tuple

    @property
    def cells(self) -> tuple:
        return (*self.members, self.total)


# --- suppression --------------------------------------------------------------------------------------------------

def conceal(counts: dict, lines: list[Line], threshold: int, hidden: Iterable = (), exact: bool = True) -> set:
    """The cells of a table whose `lines` are public knowledge to publish as hidden: every count from 1 to
    threshold-1, the cells `hidden` anyway, and partners until no hidden cell can be worked out from the shown ones.
    Deterministic: the same counts and lines in the same order give the same cells, whatever zeros sit beside them.
    `exact=False` leaves out the exact check, which a hierarchy does not need: where each cell is the total of at most
    one line and a member of at most one, the lines form a tree, and a hidden cell's line always holds another hidden
    cell to move with it, whose other line holds another, and so on to a leaf or the top, so no hidden cell is
    determined once no line hides exactly one."""
    concealed = {cell for cell, count in counts.items() if 0 < count < threshold} | set(hidden)
    _line_partners(counts, lines, concealed)
    if not exact:
        return concealed
    through: dict = {}
    for index, line in enumerate(lines):
        for cell in line.cells:
            through.setdefault(cell, []).append(index)
    while exposed := sorted(determined(lines, concealed) & concealed):
        partners = {_partner_of(cell, counts, lines, through, concealed) for cell in exposed} - {None}
        if not partners:  # cannot happen: with every positive cell hidden, no hidden cell is determined
            raise RuntimeError(f"{len(exposed)} hidden counts stay determined")
        concealed |= partners
        _line_partners(counts, lines, concealed)
    return concealed


def _line_partners(counts: dict, lines: list[Line], concealed: set) -> None:
    """In every line that hides exactly one cell, hide its smallest shown positive cell too, until none is left."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = line.cells
            if sum(cell in concealed for cell in cells) == 1 and (partner := _smallest_shown(counts, cells, concealed)) is not None:
                concealed.add(partner)
                changed = True


def _smallest_shown(counts: dict, cells: Iterable, concealed: set):
    shown = [cell for cell in cells if cell not in concealed and counts[cell] > 0]
    return min(shown, key=lambda cell: (counts[cell], cell)) if shown else None


def _partner_of(cell, counts: dict, lines: list[Line], through: dict, concealed: set):
    """The smallest shown positive cell of the lines through `cell` (those with the fewest hidden cells first), or
    failing that of the lines next to them, and so on: hiding it takes away one of the facts that determine `cell`."""
    seen_lines, frontier = set(), sorted(through.get(cell, []), key=lambda i: (sum(c in concealed for c in lines[i].cells), i))
    while frontier:
        for index in frontier:
            if (partner := _smallest_shown(counts, lines[index].cells, concealed)) is not None:
                return partner
        seen_lines.update(frontier)
        frontier = sorted({i for index in frontier for c in lines[index].cells for i in through[c]} - seen_lines)
    return None  # nothing shown is left to hide: then nothing hidden is determined either (all the lines are zero)


_PRIME = (1 << 61) - 1  # arithmetic modulo a large prime: exact ranks of these 0/±1 systems but for odds of about 2**-61


def determined(lines: list[Line], unknown: set) -> set:
    """The cells of `unknown` that the known cells and the `lines` determine: x is determined exactly when no change
    of the unknown cells that keeps every line true changes x. Found with one generic such change (a random vector
    of the null space of the lines over the unknown cells, seeded: deterministic): x is determined where it is 0."""
    order = {cell: index for index, cell in enumerate(sorted(unknown))}
    pivots: dict[int, dict[int, int]] = {}
    for line in lines:
        row: dict[int, int] = {}
        for cell, sign in [*((member, 1) for member in line.members), (line.total, -1)]:
            if cell in order:
                row[order[cell]] = (row.get(order[cell], 0) + sign) % _PRIME
        row = {column: value for column, value in row.items() if value}
        while row:  # reduce against the pivots so far: rows in echelon form, each pivot its row's first column
            first = min(row)
            if (pivot := pivots.get(first)) is None:
                inverse = pow(row[first], _PRIME - 2, _PRIME)
                pivots[first] = {column: value * inverse % _PRIME for column, value in row.items()}
                break
            factor = row[first]
            for column, value in pivot.items():
                if updated := (row.get(column, 0) - factor * value) % _PRIME:
                    row[column] = updated
                else:
                    row.pop(column, None)
    chance = random.Random(1405)
    change = {column: chance.randrange(1, _PRIME) for column in range(len(order)) if column not in pivots}
    for first in sorted(pivots, reverse=True):
        change[first] = -sum(value * change[column] for column, value in pivots[first].items() if column != first) % _PRIME
    return {cell for cell, column in order.items() if change[column] == 0}
