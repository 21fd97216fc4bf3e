import pytest

from hub_routing.rulebook import CaseFacts, Outcome, Ruleset, decide
from hub_routing.tree import OrgTree
from hub_shared.events import CaseKind, Channel, Target
from hub_shared.reference import org_seed


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
