"""Open data: the public aggregates of an agency's cases, with small counts hidden, on SQLite through the in-memory broker."""

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import product

import httpx
import jdatetime
import pytest

from hub_reporting import open_data_api
from hub_reporting import open_data as rules
from hub_reporting.app import create_runtime
from hub_reporting.open_data import COUNTRY, ELSEWHERE, TOTAL, hidden, with_totals, year_table
from hub_reporting.open_data_api import last_twelve_months, months_of
from hub_shared.envelope import wrap
from hub_shared.events import Aspects, CaseAnswered, CaseRegistered, CaseRouted, RatingSubmitted, RoutingDecision, Target
from hub_shared.reference import org_seed
from hub_shared.testing import deliver, sqlite_runtime

AZAR_1405 = datetime(2026, 11, 25, 8, tzinfo=UTC)  # Wednesday 4 Azar 1405
ABAN_1405 = datetime(2026, 10, 26, 8, tzinfo=UTC)  # Sunday 4 Aban 1405
NEXT_MONDAY = timedelta(days=5)  # Saturday, Sunday and Monday are working days: an answer on Monday took 3
FARVARDIN_10_1406 = date(2027, 3, 30)  # the day the answers are asked: every month of 1405 has ended
DEY_11_1405 = date(2027, 1, 1)
AZAR_20_1405 = date(2026, 12, 11)  # a day of Azar 1405, while it is still running
counter = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def asked_on(monkeypatch):
    """Answers are asked on 10 Farvardin 1406 (Tehran), once the year 1405 has ended: only finished months are
    published. Returns a function that moves the clock to another day."""
    def to(day: date) -> None:
        monkeypatch.setattr(open_data_api, "today", lambda: day)

    to(FARVARDIN_10_1406)
    return to


def case(kind: str = "complaint", province: str = "tehran", late: bool = False, answered: bool = True, filed: datetime = AZAR_1405,
         answer_after: timedelta = NEXT_MONDAY, **registered) -> list:
    """The facts of one case filed for labour in `province` (in Azar), referred and (unless not `answered`) answered."""
    n, case_id = next(counter), uuid.uuid4()
    code, at, unit = f"{n:011d}", filed + timedelta(minutes=n), f"labour/{province}/performance-office"
    facts = [CaseRegistered(case_id=case_id, tracking_code=code, case_number=f"1405-{n:08d}", kind=kind, channel="web",
                            target=Target(agency="labour", province=province), registered_at=at, **registered),
             CaseRouted(case_id=case_id, tracking_code=code, unit_id=unit, unit_name="دفتر", working_days=30,
                        deadline_at=at + (timedelta(days=1) if late else timedelta(days=30)), deadline_jalali="x", routed_at=at,
                        decision=RoutingDecision(rule="r", explanation="e"))]
    if answered:
        facts.append(CaseAnswered(case_id=case_id, tracking_code=code, unit_id=unit, outcome="upheld", answer_fa="پاسخ",
                                  legal_grounds="ماده ۱", answered_at=at + answer_after))
    return [wrap(fact, "/hub/test") for fact in facts]


def rating(score: int, unit: str, day: date = date(2026, 11, 25)) -> RatingSubmitted:
    return RatingSubmitted(rating_id=uuid.uuid4(), unit_id=unit, employee_id="e-42", score=score, aspects=Aspects(respect=score),
                           rated_on=day)


async def open_data(runtime, **params) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        return await client.get("/api/v1/open-data", params=params)  # no token: anyone may ask


@pytest.fixture
async def azar(tmp_path):
    """Labour in Tehran in Azar 1405: 5 complaints (one answered late), 2 requests, 2 suggestions, and a confidential
    complaint and one about a named employee, which are never counted; a complaint in Fars; 5 complaints in Isfahan;
    6 ratings in Tehran, 3 in Fars, 5 in Isfahan. (Isfahan's numbers are the ones hidden beside Fars's: without them
    it would be Tehran's, since the whole country's number less Tehran's would give Fars's away.)"""
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    facts = [*case(late=True), *[f for _ in range(4) for f in case()], *case("request"), *case("request", answered=False),
             *case("suggestion"), *case("suggestion"), *case(confidential=True), *case(about_employee="e-42"), *case(province="fars"),
             *[f for _ in range(5) for f in case(province="isfahan")]]
    ratings = [rating(s, "labour/tehran/rey/performance-office") for s in (5, 4, 4, 3, 5, 3)]
    ratings += [rating(1, "labour/fars/performance-office") for _ in range(3)]
    ratings += [rating(2, "labour/isfahan/performance-office") for _ in range(5)]
    await deliver(runtime, *facts, *(wrap(r, "/hub/intake") for r in ratings))
    return runtime


def value(figure: dict):
    return "hidden" if figure["suppressed"] else figure["value"]


async def test_cases_by_kind_hide_small_counts_and_never_count_confidential_cases_or_cases_about_an_employee(azar) -> None:
    body = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()
    azar_figures = body["months"][0]
    assert body["threshold"] == 5 and [m["month"] for m in body["months"]] == ["1405-09"]
    assert {kind: value(f) for kind, f in azar_figures["cases"].items() if f["value"] != 0} == {
        "complaint": 5, "request": "hidden", "suggestion": "hidden"}
    assert value(azar_figures["cases_total"]) == 9 and value(body["total"]["cases_total"]) == 9
    assert azar_figures["cases"]["idea"] == {"value": 0, "suppressed": False}  # a zero describes nobody
    nationwide = (await open_data(azar, agency="labour", period="1405-09")).json()
    assert value(nationwide["total"]["cases"]["complaint"]) == 11 and nationwide["province"] is None


async def test_answers_on_time_and_the_median_answer_time_in_working_days(azar) -> None:
    total = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()["total"]
    assert value(total["answered"]) == 8  # one request is not answered yet
    assert value(total["on_time_share"]) == 0.875  # 7 of 8
    assert value(total["median_working_days"]) == 3


async def test_satisfaction_counts_and_means_with_a_small_group_hidden(azar) -> None:
    tehran = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()["total"]
    assert (value(tehran["ratings"]), value(tehran["mean_score"])) == (6, 4.0)
    fars = (await open_data(azar, agency="labour", province="fars", period="1405-09")).json()["total"]
    assert (value(fars["ratings"]), value(fars["mean_score"])) == ("hidden", "hidden")
    assert value(fars["cases_total"]) == "hidden" and value(fars["answered"]) == "hidden"
    assert value(fars["on_time_share"]) == "hidden" and value(fars["median_working_days"]) == "hidden"


async def test_no_personal_field_or_identifier_appears(azar) -> None:
    body = (await open_data(azar, agency="labour", province="tehran", period="1405")).json()
    assert len(body.pop("counting")) == 7 and len(body["months"]) == 12  # the counting rules, in words
    text = json.dumps(body)
    for leak in ("tracking_code", "case_id", "unit", "employee", "e-42", "00000000001", "performance-office", "national_id", "1405-0000"):
        assert leak not in text, leak
    assert set(body["total"]) == {"month", "cases", "cases_total", "answered", "on_time_share", "median_working_days",
                                  "ratings", "mean_score"}


async def test_unknown_agency_province_or_period_is_refused_with_a_reason(azar) -> None:
    for params, code in (({"agency": "nowhere"}, "unknown_agency"), ({"agency": "labour", "province": "atlantis"}, "unknown_province"),
                         ({"agency": "labour", "period": "1405-13"}, "unknown_period"),
                         ({"agency": "labour", "period": "9999-01"}, "unknown_period"), ({"agency": "labour", "period": "0999"}, "unknown_period")):
        answer = await open_data(azar, **params)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code, answer.text
    assert (await open_data(azar)).status_code == 422  # the agency is required


async def test_each_address_is_limited_like_the_other_public_endpoints(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_PUBLIC_REQUESTS_PER_MINUTE", "2")
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    answers = [await open_data(runtime, agency="labour") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429] and answers[2].headers["retry-after"]


def test_a_count_that_a_total_would_reveal_is_hidden_with_the_smallest_other_count_of_its_line() -> None:
    rows, columns = ["1405-08", "1405-09"], ["complaint", "request"]
    grid = with_totals({("1405-08", "complaint"): 20, ("1405-08", "request"): 7, ("1405-09", "complaint"): 12,
                        ("1405-09", "request"): 2}, rows, columns)
    concealed = hidden(grid, rows, columns, threshold=5)
    # the 2 requests of Azar, then its 12 complaints (Azar's total would give the 2 away), then Aban's 7 requests
    # (the requests' total would give the 2 away), then Aban's 20 complaints (Aban's total would give the 7 away)
    assert concealed == {("1405-09", "request"), ("1405-09", "complaint"), ("1405-08", "request"), ("1405-08", "complaint")}
    assert (TOTAL, TOTAL) not in concealed
    for line in [[(r, c) for c in [*columns, TOTAL]] for r in [*rows, TOTAL]] + [[(r, c) for r in [*rows, TOTAL]] for c in [*columns, TOTAL]]:
        assert sum(key in concealed for key in line) != 1, line


def test_the_default_window_is_the_last_twelve_finished_jalali_months() -> None:
    window = last_twelve_months(jdatetime.date(1405, 9, 17))
    assert months_of(window) == [f"1404-{m:02d}" for m in range(9, 13)] + [f"1405-{m:02d}" for m in range(1, 9)]
    assert window.last == jdatetime.date(1405, 8, 30)  # Aban has ended; Azar, still running, is left out
    assert months_of(last_twelve_months(jdatetime.date(1405, 12, 29))) == [f"1404-{m:02d}" for m in range(12, 13)] + [
        f"1405-{m:02d}" for m in range(1, 12)]
    assert months_of(last_twelve_months(jdatetime.date(1406, 1, 1))) == [f"1405-{m:02d}" for m in range(1, 13)]


# --- only finished months are published ------------------------------------------------------------------------------

@pytest.fixture
async def running(tmp_path, monkeypatch, asked_on):
    """Labour in Tehran, asked on 20 Azar 1405: 6 complaints filed in Aban and answered in Azar, 7 filed and answered
    in Azar; 5 visits rated in Aban and 6 in Azar. Only Aban has ended."""
    monkeypatch.setenv("HUB_PUBLIC_REQUESTS_PER_MINUTE", "100000")
    asked_on(AZAR_20_1405)
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    facts = [f for _ in range(6) for f in case(filed=ABAN_1405, answer_after=timedelta(days=30))]
    facts += [f for _ in range(7) for f in case()]
    ratings = [rating(4, "labour/tehran/rey/performance-office", date(2026, 10, 26)) for _ in range(5)]
    ratings += [rating(2, "labour/tehran/rey/performance-office") for _ in range(6)]
    await deliver(runtime, *facts, *(wrap(r, "/hub/intake") for r in ratings))
    return runtime


ASKED = [{"period": "1405"}, {"period": "1405-H2"}, {"period": "1405-Q3"}, {"period": "1405-08"}, {}]


async def test_what_happened_in_the_month_still_running_is_counted_nowhere(running) -> None:
    for where in ({"province": "tehran"}, {}):
        for params in ASKED:
            body = (await open_data(running, agency="labour", **where, **params)).json()
            assert body["complete_through"] == "1405-08" and body["months"][-1]["month"] == "1405-08", params
            for row in (body["months"][-1], body["total"]):  # Aban, and the whole period
                figures = {"complaint": value(row["cases"]["complaint"]), "cases": value(row["cases_total"]),
                           "answered": value(row["answered"]), "ratings": value(row["ratings"]), "mean": value(row["mean_score"])}
                assert figures == {"complaint": 6, "cases": 6, "answered": 0, "ratings": 5, "mean": 4.0}, (params, where, row)
    year = (await open_data(running, agency="labour", province="tehran", period="1405")).json()
    assert [m["month"] for m in year["months"]] == [f"1405-{m:02d}" for m in range(1, 9)]  # not Azar, nor later months


async def test_answers_asked_a_day_apart_in_the_month_still_running_are_identical(running, asked_on) -> None:
    async def every_answer() -> list[dict]:
        return [(await open_data(running, agency="labour", **where, **params)).json()
                for where in ({"province": "tehran"}, {}) for params in ASKED]

    on_the_20th = await every_answer()
    filed_that_day = datetime(2026, 12, 11, 12, tzinfo=UTC)  # 20 Azar: 3 complaints, one answered at once, and 2 ratings
    facts = [*case(filed=filed_that_day, answer_after=timedelta(hours=1)), *case(filed=filed_that_day, answered=False),
             *case(filed=filed_that_day, answered=False)]
    ratings = [rating(5, "labour/tehran/rey/performance-office", date(2026, 12, 11)) for _ in range(2)]
    await deliver(running, *facts, *(wrap(r, "/hub/intake") for r in ratings))
    asked_on(date(2026, 12, 12))
    assert await every_answer() == on_the_20th


async def test_the_default_window_ends_with_the_last_finished_month(running) -> None:
    window = (await open_data(running, agency="labour", province="tehran")).json()
    assert [m["month"] for m in window["months"]] == [f"1404-{m:02d}" for m in range(9, 13)] + [f"1405-{m:02d}" for m in range(1, 9)]
    assert window["complete_through"] == "1405-08" and window["period"]["to_jalali"] == "1405-08-30"
    assert value(window["total"]["cases_total"]) == 6


async def test_a_period_with_no_finished_month_yet_is_refused_naming_the_last_finished_one(running) -> None:
    for period in ("1405-09", "1405-10", "1405-Q4", "1406"):
        answer = await open_data(running, agency="labour", province="tehran", period=period)
        assert answer.status_code == 422, (period, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "unfinished_period" and error["complete_through"] == "1405-08"
        assert "آبان ۱۴۰۵" in error["message_fa"] and "Aban 1405" in error["message_en"]


# --- no hidden count can be worked out from any combination of answers ---------------------------------------------

Interior = tuple[str, ...]  # one count no answer gives on its own: (table, province or ELSEWHERE, month, kind)


def worked_out(numbers: list[tuple[frozenset[Interior], int | None]], targets: list[frozenset[Interior]]) -> dict[int, Fraction]:
    """An adversary with every shown number: which `targets` (sums of interior counts) any linear combination of the
    shown numbers gives exactly, with the value it gives. Counts are never negative, so a shown 0 also says that each
    count it adds up is 0. Exact arithmetic, on its own (not the module's)."""
    zero = set().union(*(cells for cells, value in numbers if value == 0))
    basis: dict[Interior, tuple[dict[Interior, Fraction], Fraction]] = {}  # each row's first interior count: its pivot

    def reduce(cells: frozenset[Interior], value: Fraction) -> tuple[dict[Interior, Fraction], Fraction]:
        row = {cell: Fraction(1) for cell in cells - zero}
        while row and (first := min(row)) in basis:
            pivot, pivot_value = basis[first]
            factor = row[first]
            for cell, coefficient in pivot.items():
                if updated := row.get(cell, 0) - factor * coefficient:
                    row[cell] = updated
                else:
                    row.pop(cell, None)
            value -= factor * pivot_value
        return row, value

    for cells, value in numbers:
        if value is not None:
            row, rest = reduce(cells, Fraction(value))
            if row:
                first = min(row)
                basis[first] = ({cell: c / row[first] for cell, c in row.items()}, rest / row[first])
    found = {}
    for index, cells in enumerate(targets):
        row, value = reduce(cells, Fraction(0))
        if not row:  # the target is a combination of shown numbers: its value is that combination's
            found[index] = -value
    return found


def joint_numbers(table, provinces: list[str], months: list[str], columns: list[str]):
    """Every cell of a joint year table as the adversary sees it: the interior counts it adds up, and its value
    (None where hidden); the part in no province is never published."""
    numbers = []
    for scope, row, column in table.counts:
        if scope != ELSEWHERE:
            cells = frozenset(product(["cases"], provinces if scope == COUNTRY else [scope], months if row == TOTAL else [row],
                                      columns if column == TOTAL else [column]))
            numbers.append((cells, None if (scope, row, column) in table.concealed else table.counts[scope, row, column]))
    return numbers


# Fars and Isfahan in two months, by three kinds: the line rule alone (no line hiding exactly one number) leaves
# Isfahan's 2 complaints of Ordibehesht to a chain of lines (Fars's row total, the country's column totals, ...).
CHAIN = {("fars", "1405-01", "request"): 1, ("fars", "1405-02", "complaint"): 5, ("fars", "1405-02", "request"): 1,
         ("fars", "1405-02", "suggestion"): 2, ("isfahan", "1405-01", "complaint"): 6, ("isfahan", "1405-01", "request"): 5,
         ("isfahan", "1405-01", "suggestion"): 1, ("isfahan", "1405-02", "complaint"): 2, ("isfahan", "1405-02", "request"): 3}


def test_a_count_a_chain_of_lines_would_give_away_is_hidden_with_a_partner() -> None:
    provinces, months, kinds = ["fars", "isfahan"], ["1405-01", "1405-02"], ["complaint", "request", "suggestion"]
    table = year_table(CHAIN, provinces, months, kinds, threshold=5)
    numbers = joint_numbers(table, provinces, months, kinds)
    assert worked_out(numbers, [cells for cells, value in numbers if value is None]) == {}
    by_line_alone = {cell for cell, count in table.counts.items() if 0 < count < 5}
    rules._line_partners(table.counts, rules._lines([*provinces, ELSEWHERE], months, kinds, True), by_line_alone)
    assert by_line_alone < table.concealed  # the exact check hid more than the line rule alone
    alone = [(cells, None if key in by_line_alone else table.counts[key])
             for (cells, _), key in zip(numbers, [key for key in table.counts if key[0] != ELSEWHERE])]
    isfahan_ordibehesht = frozenset({("cases", "isfahan", "1405-02", "complaint")})
    assert worked_out(alone, [isfahan_ordibehesht]) == {0: 2}  # the adversary finds it: the test can fail


@pytest.mark.parametrize("seed", range(60))
def test_no_hidden_cell_of_a_joint_table_can_be_worked_out_from_its_shown_cells(seed: int) -> None:
    chance = random.Random(seed)
    provinces, months = ["fars", "isfahan", "tehran"][:chance.choice([2, 3])], ["1405-01", "1405-02", "1405-03"]
    kinds = ["complaint", "request", "suggestion"][:chance.choice([1, 2, 3])]
    counts = {key: chance.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 13, 40]) for key in product(provinces, months, kinds)}
    table = year_table(counts, provinces, months, kinds, threshold=5, row_totals=len(kinds) > 1)
    assert {cell for cell, count in table.counts.items() if 0 < count < 5} <= table.concealed
    numbers = joint_numbers(table, provinces, months, kinds)
    assert worked_out(numbers, [cells for cells, value in numbers if value is None]) == {}


PROVINCES_WITH_CASES = ("tehran", "fars", "isfahan")
PERIODS = ["1405", "1405-H1", "1405-H2", *(f"1405-Q{q}" for q in range(1, 5)), *(f"1405-{m:02d}" for m in range(1, 13))]


@pytest.fixture
async def leaky(tmp_path, monkeypatch):
    """Data the rule of one answer at a time gave away. Azar: the whole country's 15 complaints less Tehran's 6 and
    Isfahan's 7 were Fars's 2; Tehran's requests: 7 in Aban and 2 in Azar, hidden together in the year 1405 whose
    total said 9, while the answer for Aban alone showed its 7. Ratings: 6 in Tehran, 3 in Fars and 2 at the
    agency's headquarters, in no province."""
    monkeypatch.setenv("HUB_PUBLIC_REQUESTS_PER_MINUTE", "100000")
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    cases = {("tehran", "complaint", ABAN_1405): 9, ("tehran", "request", ABAN_1405): 7, ("isfahan", "complaint", ABAN_1405): 5,
             ("tehran", "complaint", AZAR_1405): 6, ("tehran", "request", AZAR_1405): 2, ("tehran", "suggestion", AZAR_1405): 5,
             ("fars", "complaint", AZAR_1405): 2, ("isfahan", "complaint", AZAR_1405): 7}
    facts = [f for (province, kind, filed), n in cases.items() for _ in range(n) for f in case(kind, province, filed=filed)]
    ratings = [rating(4, "labour/tehran/rey/performance-office") for _ in range(6)]
    ratings += [rating(2, "labour/fars/performance-office") for _ in range(3)] + [rating(5, "labour/performance-office") for _ in range(2)]
    await deliver(runtime, *facts, *(wrap(r, "/hub/intake") for r in ratings))
    return runtime


async def every_answer(runtime) -> list[dict]:
    """Labour's answers for 1405 in every province and the whole country; for the provinces with cases and the whole
    country also every half, quarter and month, and the default window, all asked on the same day (`asked_on`), when
    every month of 1405 has ended. (Every other province's year shows zeros in every month: all its other answers
    are zeros.)"""
    answers = [await open_data(runtime, agency="labour", period="1405", **({"province": p} if p else {}))
               for p in [None, *org_seed().provinces]]
    for province in (None, *PROVINCES_WITH_CASES):
        where = {"province": province} if province else {}
        answers += [await open_data(runtime, agency="labour", period=period, **where) for period in PERIODS]
        answers.append(await open_data(runtime, agency="labour", **where))
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.json() for answer in answers]


Published = tuple[str, str, tuple[str, ...], str]  # (table, scope, months added up, column)


def published(answers: list[dict]) -> tuple[dict[Published, int | None], set[Published]]:
    """Every number of every answer, by what it counts (None where no answer shows it), and those some answer hides."""
    numbers: dict[Published, int | None] = {}
    hidden_somewhere: set[Published] = set()
    for body in answers:
        scope, months = body["province"] or COUNTRY, tuple(row["month"] for row in body["months"])
        for row in [*body["months"], body["total"]]:
            added_up = months if row is body["total"] else (row["month"],)
            figures = {("cases", kind): f for kind, f in row["cases"].items()} | {("cases", TOTAL): row["cases_total"]}
            figures |= {("answered", "n"): row["answered"], ("ratings", "n"): row["ratings"]}
            for (table, column), figure in figures.items():
                key = (table, scope, added_up, column)
                if figure["suppressed"]:
                    hidden_somewhere.add(key)
                    numbers.setdefault(key, None)
                elif numbers.get(key) is None:
                    numbers[key] = figure["value"]
    return numbers, hidden_somewhere


def differencing(numbers: dict[Published, int | None], provinces: list[str], kinds: list[str]) -> dict[Published, int]:
    """The attacks by subtraction, repeated while they find anything: the whole country less every province (and, for
    ratings, the headquarters, in none); a row's total less its other kinds; a period's total (a year, half, quarter
    or window) less its other months; one period less another (a year less a half, a window less the window a month
    before). Returns what they work out."""
    known = {key: value for key, value in numbers.items() if value is not None}
    periods = {(table, scope, column): set() for table, scope, _, column in numbers}
    for table, scope, months, column in numbers:
        if len(months) > 1:
            periods[table, scope, column].add(months)
    found: dict[Published, int] = {}

    def solve(plus: list[Published], minus: list[Published]) -> None:
        """sum(plus) == sum(minus): with exactly one of them unknown, it is known."""
        unknown = [key for key in plus + minus if key not in known]
        if len(unknown) == 1:
            (key,) = unknown
            rest = sum(known[k] for k in plus if k != key) - sum(known[k] for k in minus if k != key)
            known[key] = found[key] = -rest if key in plus else rest

    for _ in range(20):
        before = len(known)
        for table, scope, months, column in list(numbers):
            if scope == COUNTRY:  # the headquarters' ratings are in no province: never known
                parts = [*provinces, ELSEWHERE] if table == "ratings" else provinces
                solve([(table, p, months, column) for p in parts], [(table, scope, months, column)])
            if table == "cases":
                solve([(table, scope, months, kind) for kind in kinds], [(table, scope, months, TOTAL)])
        for (table, scope, column), spans in periods.items():
            for span in spans:
                solve([(table, scope, (month,), column) for month in span], [(table, scope, span, column)])
                for other in spans - {span}:
                    if (table, scope, span, column) in known and (table, scope, other, column) in known:
                        solve([(table, scope, (m,), column) for m in span if m not in other] + [(table, scope, other, column)],
                              [(table, scope, (m,), column) for m in other if m not in span] + [(table, scope, span, column)])
        if len(known) == before:
            return found
    return found


async def test_no_hidden_count_can_be_worked_out_from_any_combination_of_answers(leaky) -> None:
    numbers, hidden_numbers = published(await every_answer(leaky))
    provinces = sorted(org_seed().provinces)
    kinds = list(open_data_api.KINDS)
    shown_elsewhere = {key for key in hidden_numbers if numbers[key] is not None}
    assert not shown_elsewhere, {key: numbers[key] for key in shown_elsewhere}  # hidden in one answer, shown in another
    assert ("cases", "fars", ("1405-09",), "complaint") in hidden_numbers
    assert ("cases", "tehran", ("1405-09",), "request") in hidden_numbers

    # the attacks by subtraction
    recovered = differencing(numbers, provinces, kinds)
    assert not hidden_numbers & set(recovered), {key: recovered[key] for key in hidden_numbers & set(recovered)}

    # any linear combination at all, counts never negative; the headquarters' 2 ratings are never published but
    # must not be worked out either (the adversary is told no case is outside a province, which is true)
    def adds_up(table: str, scope: str, months: tuple[str, ...], column: str) -> frozenset[Interior]:
        parts = ([*provinces, ELSEWHERE] if table == "ratings" else provinces) if scope == COUNTRY else [scope]
        return frozenset(product([table], parts, months, kinds if column == TOTAL else [column]))

    shown = [(adds_up(*key), value) for key, value in numbers.items()]
    targets = [adds_up(*key) for key in sorted(hidden_numbers)] + [adds_up("ratings", ELSEWHERE, ("1405-09",), "n")]
    found = worked_out(shown, targets)
    assert found == {}, {(sorted(hidden_numbers) + ["elsewhere"])[i]: v for i, v in found.items()}


async def test_a_part_of_a_year_shows_the_years_months_and_a_total_only_where_they_give_it(leaky, asked_on) -> None:
    asked_on(DEY_11_1405)  # Azar has ended: the year shows Farvardin to Azar
    year = (await open_data(leaky, agency="labour", province="tehran", period="1405")).json()
    autumn = (await open_data(leaky, agency="labour", province="tehran", period="1405-Q3")).json()
    aban = (await open_data(leaky, agency="labour", province="tehran", period="1405-08")).json()
    assert [m["month"] for m in autumn["months"]] == ["1405-07", "1405-08", "1405-09"]
    assert autumn["months"] == year["months"][6:9] and aban["months"] == year["months"][7:8]  # the year's months as they are
    assert aban["total"] | {"month": "1405-08"} == aban["months"][0]  # a month's total is the month
    assert [value(m["cases"]["complaint"]) for m in autumn["months"]] == [0, "hidden", "hidden"]  # beside the requests, Fars's 2
    assert value(year["total"]["cases"]["complaint"]) == 15  # the year's own total: neither month given away by it
    assert value(autumn["total"]["cases"]["complaint"]) == 15  # the year's total less its other months, all 0: nothing new
    assert value(autumn["total"]["cases_total"]) == 29 == value(year["months"][7]["cases_total"]) + value(year["months"][8]["cases_total"])
    assert value(year["total"]["cases"]["request"]) == "hidden" == value(autumn["total"]["cases"]["request"])
    window = (await open_data(leaky, agency="labour", province="tehran")).json()  # on 11 Dey 1405: Dey 1404 to Azar 1405
    assert window["months"][-1] == year["months"][8] and window["months"][0]["month"] == "1404-10"
    assert value(window["total"]["cases"]["complaint"]) == 15  # every finished month of 1405: the year's total
    assert value(window["total"]["cases_total"]) == 29 and value(window["total"]["cases"]["request"]) == "hidden"
