"""Satisfaction answers give no hidden group away: a reader who asks for every unit of the tree, by unit and by
person, and subtracts what the answers show (a total less its groups, a parent's figure for a unit less that unit's
groups, per aspect, the period before) cannot work out how many ratings a hidden group has nor their scores."""

import random
import uuid
from datetime import date
from fractions import Fraction

import httpx
import pytest

from hub_reporting.app import create_runtime
from hub_reporting.satisfaction_table import rating_table
from hub_shared.auth import Role
from hub_shared.events import Aspects, RatingSubmitted
from hub_shared.testing import bearer, deliver, sqlite_runtime

AZAR_4 = date(2026, 11, 25)  # 4 Azar 1405
ABAN_4 = date(2026, 10, 26)  # 4 Aban 1405, in the 30 days before Azar
OFFICE_A, OFFICE_B = "labour/fars/shiraz/office-a", "labour/fars/shiraz/office-b"
MARVDASHT = "labour/fars/marvdasht/office"
REY = "labour/tehran/rey/office"
HEALTH = "health/fars/office"
ROOTS = ["national", "labour", "health", "labour/fars", "labour/tehran", "labour/fars/shiraz", "labour/fars/marvdasht",
         "labour/tehran/rey", OFFICE_A, OFFICE_B, MARVDASHT, REY, "health/fars", HEALTH]


def rating(unit: str, person: str | None, score: int, day: date = AZAR_4, speed: int | None = None) -> RatingSubmitted:
    return RatingSubmitted(rating_id=uuid.uuid4(), unit_id=unit, employee_id=person, score=score,
                           aspects=Aspects(respect=score, speed=speed), rated_on=day)


def many(unit: str, person: str | None, scores: list[int], **more) -> list[RatingSubmitted]:
    return [rating(unit, person, score, **more) for score in scores]


RATINGS = [
    *many(OFFICE_A, "p-1", [5, 4, 5, 4, 5, 3]), *many(OFFICE_A, "p-2", [1, 2], speed=4),  # office A: 8, one person 2
    *many(OFFICE_B, "p-3", [4, 4, 3, 5, 4, 4, 2], speed=3),  # speed given 2 times in A, 7 in B
    *many(MARVDASHT, "p-4", [3, 3, 4, 4, 5, 5]), *many(MARVDASHT, None, [1, 1, 2]),  # 3 ratings name nobody
    *many(REY, "p-5", [4] * 12),
    *many(HEALTH, "p-6", [2, 5, 1]),  # an agency with 3 ratings in the country
    *many(REY, "p-5", [2] * 9, day=ABAN_4), *many(OFFICE_A, "p-1", [5] * 6, day=ABAN_4), *many(OFFICE_B, "p-3", [1, 1], day=ABAN_4),
]


async def ask(runtime, **params) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        answer = await client.get("/api/v1/satisfaction", params=params, headers=bearer(Role.national_supervisor))
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
async def answers(tmp_path_factory) -> dict[tuple[str, str], dict]:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path_factory.mktemp("privacy"))
    await deliver(runtime, *RATINGS)
    return {(root, by): await ask(runtime, unit=root, period="1405-09", by=by) for root in ROOTS for by in ("unit", "employee")}


def truth(cell: tuple, aspect: str | None = None, day: date = AZAR_4) -> tuple[int, int]:
    """How many ratings a cell of the tree has and the sum of their scores (or of one aspect), from the ratings given."""
    kind, unit = cell[0], cell[1]
    counted = [r for r in RATINGS if r.rated_on == day and (
        (kind == "subtree" and (unit == "national" or r.unit_id == unit or r.unit_id.startswith(unit + "/")))
        or (kind == "own" and r.unit_id == unit) or (kind == "person" and (r.unit_id, r.employee_id) == (unit, cell[2]))
        or (kind == "unnamed" and r.unit_id == unit and r.employee_id is None))]
    values = [r.score if aspect is None else getattr(r.aspects, aspect) for r in counted]
    values = [v for v in values if v is not None]
    return len(values), sum(values)


def cells_of(answer: dict, by: str) -> list[tuple[tuple, dict]]:
    root = answer["unit"]
    groups = [(("person", *g["key"].split("#")) if by == "employee" else (("own", root) if g["key"] == root else ("subtree", g["key"])), g)
              for g in answer["groups"]]
    return [(("subtree", root), answer["total"]), *groups]


def lines_of_the_tree(cells: set[tuple]) -> list[tuple[tuple, list[tuple]]]:
    """What every reader knows: a node's ratings are its own and its children's; a unit's own are its people's and
    those naming nobody."""
    lines: dict[tuple, list[tuple]] = {}
    units = {cell[1] for cell in cells}
    for unit in units | {"national"}:
        children = [("subtree", u) for u in units if u != unit and (u.rsplit("/", 1)[0] if "/" in u else "national") == unit]
        lines[("subtree", unit)] = children + [("own", unit)]
        lines[("own", unit)] = [("unnamed", unit)] + [cell for cell in cells if cell[0] == "person" and cell[1] == unit]
    return list(lines.items())


def determined(unknown: list[tuple], lines, known: dict[tuple, int]) -> set[tuple]:
    """The unknown cells that the known ones and the lines fix: those whose unit vector lies in the row space of the
    lines over the unknowns (exact arithmetic)."""
    index = {cell: i for i, cell in enumerate(unknown)}
    rows = []
    for total, members in lines:
        row = [Fraction(0)] * len(unknown)
        for cell, sign in [(total, -1), *((m, 1) for m in members)]:
            if cell in index:
                row[index[cell]] += sign
        if any(row):
            rows.append(row)
    found = set()
    for cell in unknown:
        target = [Fraction(int(index[cell] == i)) for i in range(len(unknown))]
        if _rank(rows + [target]) == _rank(rows):
            found.add(cell)
    return found


def _rank(rows: list[list[Fraction]]) -> int:
    rows, rank = [list(r) for r in rows], 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][column]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][column]:
                factor = rows[i][column] / rows[rank][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank])]
        rank += 1
    return rank


def what_a_reader_sees(answers: dict, figure: str = "ratings", aspect: str | None = None) -> tuple[dict, set]:
    """Every cell shown in some answer and its value, and every cell hidden in some answer."""
    shown, hidden = {}, set()
    for (_, by), answer in answers.items():
        for cell, group in cells_of(answer, by):
            value = group["ratings"] if aspect is None else (group["aspects"] or {}).get(aspect)
            if group["hidden"] or value is None:
                hidden.add(cell)
            else:
                shown[cell] = value
    assert not hidden & set(shown), "a cell is shown in one answer and hidden in another"
    return shown, hidden


def test_a_total_less_the_groups_shown_never_gives_one_hidden_group(answers) -> None:
    for (root, by), answer in answers.items():
        hidden = [g for g in answer["groups"] if g["hidden"]]
        below = [unit for unit in ROOTS if root == "national" or unit == root or unit.startswith(root + "/")]
        if by == "employee" and any(truth(("unnamed", unit))[0] for unit in below):
            hidden.append("the ratings naming nobody")  # in the total, never shown
        if answer["total"]["hidden"] is None and hidden:
            assert len(hidden) >= 2, (root, by, answer)
    figures = {g["key"]: g for g in answers[("labour/fars/shiraz", "unit")]["groups"]}
    # office A has 8 ratings, 2 of them for person p-2; office B 7. Shiraz shows both offices or neither
    assert figures[OFFICE_A]["ratings"] == 8 and figures[OFFICE_B]["ratings"] == 7
    people = {g["key"]: g for g in answers[(OFFICE_A, "employee")]["groups"]}
    assert people[f"{OFFICE_A}#p-2"]["hidden"] == "suppressed" and people[f"{OFFICE_A}#p-1"]["hidden"] == "suppressed"
    assert answers[(OFFICE_A, "employee")]["total"]["ratings"] == 8  # 8 less the hidden people: both hidden, so nothing


def test_no_hidden_count_or_score_follows_from_all_the_answers_of_the_period_together(answers) -> None:
    shown, hidden = what_a_reader_sees(answers)
    assert {("person", OFFICE_A, "p-2"), ("subtree", "health")} <= hidden  # the small groups are hidden
    cells = set(shown) | hidden
    # ratings naming nobody are never shown, but a reader may know there are none (every rating of a unit names someone)
    nobody = {("unnamed", cell[1]) for cell in cells if truth(("unnamed", cell[1]))[0] == 0}
    unknown = sorted(hidden | {("unnamed", cell[1]) for cell in cells} - nobody)
    exposed = determined(unknown, lines_of_the_tree(cells), shown) & hidden
    assert not exposed, f"worked out by subtraction: {sorted(exposed)}"
    for cell, value in shown.items():  # and what is shown is right
        assert value == truth(cell)[0], cell
    small = {cell for cell in cells if 0 < truth(cell)[0] < 5}
    assert small <= hidden


def test_each_aspect_hides_its_small_groups_and_what_would_give_them_away(answers) -> None:
    shiraz = {g["key"]: g for g in answers[("labour/fars/shiraz", "unit")]["groups"]}
    assert shiraz[OFFICE_A]["aspects"]["speed"] is None  # given by 2 visitors only
    assert shiraz[OFFICE_B]["aspects"]["speed"] is None  # else Shiraz's speed less office B's would give office A's
    for aspect in ("respect", "speed"):
        shown, hidden = what_a_reader_sees(answers, aspect=aspect)
        cells = set(shown) | hidden
        unknown = sorted(hidden | {("unnamed", cell[1]) for cell in cells})
        exposed = {cell for cell in determined(unknown, lines_of_the_tree(cells), shown) & hidden if truth(cell, aspect)[0]}
        assert not exposed, (aspect, sorted(exposed))
        for cell, average in shown.items():
            n, total = truth(cell, aspect)
            assert n >= 5 and average == round(total / n, 3), (aspect, cell)


def test_the_parent_levels_figure_for_a_unit_is_the_total_of_that_units_answer(answers) -> None:
    for (root, by), answer in answers.items():
        if by != "unit":
            continue
        for group in answer["groups"]:
            if group["key"] != root and (group["key"], "unit") in answers:
                below = answers[(group["key"], "unit")]["total"]
                assert {**below, "on_time_rate": None, "key": None} == {**group, "on_time_rate": None, "key": None}, group["key"]
                assert answers[(group["key"], "employee")]["total"]["ratings"] == group["ratings"]


async def test_the_period_before_is_shown_only_as_the_answer_for_that_period_shows_it(tmp_path, answers) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    await deliver(runtime, *RATINGS)
    for root in ROOTS:
        for by in ("unit", "employee"):
            before = await ask(runtime, unit=root, by=by, **{"from": "1405-08-01", "to": "1405-08-30"})  # the 30 days before Azar
            earlier = {g["key"]: g for g in [*before["groups"], before["total"]]}
            for group in [*answers[(root, by)]["groups"], answers[(root, by)]["total"]]:
                if group.get("previous_average") is not None:
                    assert earlier[group["key"]]["hidden"] is None
                    assert earlier[group["key"]]["average"] == group["previous_average"], (root, by, group["key"])
    shiraz = {g["key"]: g for g in answers[("labour/fars/shiraz", "unit")]["groups"]}
    assert shiraz[OFFICE_A]["previous_average"] is None and shiraz[OFFICE_B]["previous_average"] is None  # 6 and 2 in Aban


def test_on_trees_of_any_shape_no_hidden_cell_is_determined_even_knowing_the_ratings_naming_nobody() -> None:
    """The line rule alone is exact on the tree: checked on random trees, small counts many, against a reader who
    knows every cell not hidden, the ratings naming nobody included."""
    chance = random.Random(1405)
    aspects = ("respect", "speed")
    for _ in range(40):
        units, people = {}, {}
        for n in range(chance.randint(1, 7)):
            unit = "/".join(f"{level}{chance.randint(0, 1)}" for level in ("a", "p", "c")[:chance.randint(1, 3)]) + f"/u{n}"
            own = dict.fromkeys(["ratings", "score_sum", "previous_ratings", "previous_score_sum",
                                 *(f"{a}_{part}" for a in aspects for part in ("n", "sum"))], 0)
            for person in [f"e{i}" for i in range(chance.randint(0, 3))] + [None]:
                count, before, speed = chance.choice([0, 1, 2, 4, 5, 6, 9]), chance.choice([0, 3, 7]), chance.choice([0, 2, 6])
                named = {"ratings": count, "score_sum": 4 * count, "previous_ratings": before, "previous_score_sum": 3 * before,
                         "respect_n": count, "respect_sum": 4 * count, "speed_n": min(speed, count), "speed_sum": min(speed, count)}
                if person:
                    people[unit, person] = named
                for name, value in named.items():
                    own[name] += value
            units[unit] = own
        table = rating_table(units, people, aspects, 5)
        lines = lines_of_the_tree(set(table.sums))
        for column, hidden in [("ratings", table.hidden), ("previous_ratings", table.hidden_before),
                               *((f"{a}_n", table.hidden_aspects[a]) for a in aspects)]:
            assert {cell for cell, row in table.sums.items() if 0 < row[column] < 5} <= hidden, column
            assert not determined(sorted(hidden), lines, {}) & hidden, (column, units, people)
