from datetime import UTC, date, datetime

import pytest

from hub_routing.calendar import WorkingCalendar
from hub_routing.rulebook import CaseFacts, Outcome, Ruleset, decide
from hub_routing.tree import OrgTree
from hub_shared.events import CaseKind, Channel, Target
from hub_shared.reference import org_seed


def test_thursday_and_friday_are_off_by_default_and_thursday_is_configurable() -> None:
    assert not WorkingCalendar().is_working_day(date(2026, 11, 26))  # Thursday
    assert WorkingCalendar(thursday_off=False).is_working_day(date(2026, 11, 26))
    assert not WorkingCalendar(thursday_off=False).is_working_day(date(2026, 11, 27))  # Friday


def test_official_holidays_are_not_working_days() -> None:
    assert not WorkingCalendar().is_working_day(date(2026, 2, 11))  # Islamic Revolution Day, a Wednesday


def test_deadline_counts_working_days_from_the_next_day_and_ends_at_tehran_midnight() -> None:
    calendar = WorkingCalendar(extra_holidays=frozenset({date(2026, 11, 29)}))
    registered = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday
    # Wed 25 (1), Thu 26 off, Fri 27 off, Sat 28 (2), Sun 29 extra holiday, Mon 30 (3)
    assert calendar.deadline(registered, 3) == datetime(2026, 11, 30, 20, 29, 59, tzinfo=UTC)


def test_thirty_working_days_span_more_than_six_weeks() -> None:
    deadline = WorkingCalendar().deadline(datetime(2026, 11, 24, tzinfo=UTC), 30)
    assert (deadline - datetime(2026, 11, 24, tzinfo=UTC)).days >= 42


@pytest.mark.parametrize("target,unit,rule", [
    (Target(agency="labour", province="tehran", county="rey"), "labour/tehran/rey/performance-office", "nearest-level:county"),
    (Target(agency="hajj", province="fars", county="marvdasht"), "hajj/fars/performance-office", "nearest-level:province"),
    (Target(agency="health", province="isfahan"), "health/isfahan/performance-office", "nearest-level:province"),
])
def test_cases_go_to_the_nearest_responsible_performance_office(target, unit, rule) -> None:
    outcome = without_rules(OrgTree(org_seed()), target)
    assert (outcome.unit_id, outcome.decision.rule) == (unit, rule)
    assert unit in outcome.decision.explanation


def test_an_agency_outside_the_tree_is_an_unclear_target() -> None:
    outcome = without_rules(OrgTree(org_seed()), Target(agency="unknown", province="tehran"))
    assert (outcome.action, outcome.reason_code) == ("reject", "unclear_target")


def without_rules(tree: OrgTree, target: Target) -> Outcome:
    """What routing decides when no rule matches: the nearest performance office."""
    return decide(Ruleset(files={}, version="none", default_days=30), CaseFacts(target, CaseKind.complaint, Channel.web), tree.unit)
