"""Which satisfaction figures of a period may be shown: one table for the whole tree, suppressed once, that every
answer of the period (any unit, by unit or by person) is read from. Pure functions, no I/O.

The table's cells, each a count of ratings with its sums (score, each aspect, the period before):
- `subtree` of every node of the tree (national, each agency, province, county, unit): all ratings at or below it;
- `own` of every unit: the ratings given at exactly that unit (the drill-down's row for the unit itself);
- `person` of every unit and person named: the view by person;
- `unnamed` of every unit: its own ratings that name no person. Never shown, but a reader may know it (such as
  zero, when every rating names someone), so it is counted as shown wherever that could give something away.
Its lines (sums a reader knows): a node's `subtree` is its `own` plus its children's `subtree`; a unit's `own` is
its `unnamed` plus its `person` cells. An answer for a unit shows its `subtree` as its total and, by unit, its
children's `subtree` (and its `own`) or, by person, the `person` cells below it: so the figure the parent level
shows for a unit is the total of that unit's own answer, and all of them come from the same hidden cells.

Suppression (`hub_reporting.suppression`): a count of 1 to `threshold - 1` ratings is hidden, and in every line
that hides exactly one cell the smallest shown one too, until none is left; so no hidden count, score sum or mean
can be worked out by subtraction from one answer (a total less its shown groups), from several answers of the same
period (a parent's figure for a unit less that unit's shown groups, one unit's total less its people), nor from
any combination of them: the lines form a tree, where that line rule is exact. Each aspect is suppressed alike
over its own counts, starting from the cells hidden already. The period before (behind `previous_average` and
`trend`) is shown only where the answer for that period itself shows it: the same table, suppressed alike.

Not covered: answers for different periods, such as one month against the same month one day longer, or the same
period asked before and after new ratings arrived; each is suppressed on its own, so their difference may count
the few ratings in between. Intake holds ratings back and releases them in shuffled batches
(`HUB_INTAKE_RATING_RELEASE_SECONDS`), so such a difference holds a batch, not a visit one can date; nothing here
stops a reader who knows which visits fell between two answers. Nor is open data's table of ratings (an agency in
a province, per Jalali month) suppressed together with this one: a member of staff who reads both for the same
month may find there a province this hides beside a smaller one. Nor are bounds hidden: a hidden group has at least
zero ratings and at most what its line leaves."""

from dataclasses import dataclass

from hub_reporting.suppression import Line, conceal
from hub_shared.auth import NATIONAL

SUBTREE, OWN, PERSON, UNNAMED = "subtree", "own", "person", "unnamed"
Cell = tuple[str, ...]


@dataclass(frozen=True)
class RatingTable:
    """The sums of every cell (ratings, score_sum, `<aspect>_n`, `<aspect>_sum`, previous_ratings,
    previous_score_sum) and which of them to hide: the count and mean, each aspect, the period before."""

    sums: dict[Cell, dict[str, int]]
    hidden: frozenset[Cell]
    hidden_aspects: dict[str, frozenset[Cell]]
    hidden_before: frozenset[Cell]

    def groups(self, root: str, by_person: bool) -> list[tuple[str, Cell]]:
        """The groups of the answer for `root`, by key: its children (and itself, for its own ratings), or the
        people named below it."""
        if by_person:
            return sorted((f"{cell[1]}#{cell[2]}", cell) for cell in self.sums if cell[0] == PERSON and _under(cell[1], root))
        children = [(cell[1], cell) for cell in self.sums if cell[0] == SUBTREE and cell[1] != root and _parent(cell[1]) == root]
        own = [(root, (OWN, root))] if (OWN, root) in self.sums else []
        return sorted(children + own)


def rating_table(units: dict[str, dict[str, int]], people: dict[tuple[str, str], dict[str, int]], aspects: tuple[str, ...],
                 threshold: int) -> RatingTable:
    """The table of the ratings given per unit (`units`) and per unit and person named (`people`), suppressed."""
    sums: dict[Cell, dict[str, int]] = {}
    for unit, own in units.items():
        _add(sums, (OWN, unit), own)
        _add(sums, (UNNAMED, unit), own)
        for node in _ancestors(unit):
            _add(sums, (SUBTREE, node), own)
    for (unit, person), named in people.items():
        _add(sums, (PERSON, unit, person), named)
        _add(sums, (UNNAMED, unit), {name: -value for name, value in named.items()})
    lines = _lines(sums)

    def hide(column: str, hidden=()) -> frozenset[Cell]:
        return frozenset(conceal({cell: row[column] for cell, row in sums.items()}, lines, threshold, hidden, exact=False))

    shown_not = hide("ratings")
    return RatingTable(sums, shown_not, {a: hide(f"{a}_n", shown_not) for a in aspects}, hide("previous_ratings"))


def _lines(sums: dict[Cell, dict[str, int]]) -> list[Line]:
    """In a fixed order (by the total's cell), so that cells of no count beside them change no choice."""
    members: dict[Cell, list[Cell]] = {}
    for cell in sums:
        if cell[0] == SUBTREE and cell[1] != NATIONAL:
            members.setdefault((SUBTREE, _parent(cell[1])), []).append(cell)
        elif cell[0] == OWN:
            members.setdefault((SUBTREE, cell[1]), []).append(cell)
        elif cell[0] in (PERSON, UNNAMED):
            members.setdefault((OWN, cell[1]), []).append(cell)
    return [Line(total, tuple(sorted(parts))) for total, parts in sorted(members.items())]


def _add(sums: dict[Cell, dict[str, int]], cell: Cell, values: dict[str, int]) -> None:
    row = sums.setdefault(cell, dict.fromkeys(values, 0))
    for name, value in values.items():
        row[name] += value


def _ancestors(unit: str) -> list[str]:
    """`labour/fars/shiraz` → national, labour, labour/fars, labour/fars/shiraz."""
    parts = unit.split("/")
    return [NATIONAL, *("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))]


def _parent(node: str) -> str:
    return node.rsplit("/", 1)[0] if "/" in node else NATIONAL


def _under(unit: str, root: str) -> bool:
    return root == NATIONAL or unit == root or unit.startswith(root + "/")
