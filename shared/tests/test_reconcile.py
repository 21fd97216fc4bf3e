"""Which facts a consumer group lacks, and which of them can be sent again without applying them out of order."""

from datetime import UTC, datetime, timedelta

from hub_shared.reconcile import Fact, Group, compare

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REGISTERED, ROUTED, ANSWERED = "ir.hub.case.registered.v1", "ir.hub.case.routed.v1", "ir.hub.case.answered.v1"
REPORTING = Group("reporting", "reporting", frozenset({REGISTERED, ROUTED, ANSWERED}))
ROUTING = Group("routing", "routing", frozenset({REGISTERED}))


def fact(event_id: str, event_type: str, case: str = "a", minute: int = 0, owner: str = "routing") -> Fact:
    return Fact(event_id, event_type, case, owner, T0 + timedelta(minutes=minute))


def test_a_group_that_lacks_the_tail_of_a_case_can_be_repaired() -> None:
    facts = [fact("r1", REGISTERED, owner="intake"), fact("r2", ROUTED, minute=1)]
    findings = compare(facts, [REPORTING, ROUTING], {"reporting": {"r1"}, "routing": {"r1"}}, {})
    assert [(d.group, [f.event_id for f in d.repairable], d.behind_later) for d in findings.drifts] == [("reporting", ["r2"], [])]
    assert findings.cases == {"a"} and findings.repairable_by_owner() == {"routing": {"r2"}}


def test_a_gap_before_a_later_applied_fact_is_not_repaired_but_reported() -> None:
    facts = [fact("r1", REGISTERED, owner="intake"), fact("r2", ROUTED, minute=1), fact("r3", ANSWERED, minute=2, owner="followup")]
    findings = compare(facts, [REPORTING], {"reporting": {"r1", "r3"}}, {})
    assert [f.event_id for f in findings.drifts[0].behind_later] == ["r2"] and findings.repairable == 0


def test_facts_a_group_does_not_handle_and_cases_it_holds_are_not_drift() -> None:
    facts = [fact("r1", REGISTERED, owner="intake"), fact("r2", ROUTED, minute=1), fact("b1", REGISTERED, case="b")]
    findings = compare(facts, [ROUTING, REPORTING], {"routing": {"r1"}, "reporting": {"r1", "r2", "b1"}}, {"routing": {"b"}})
    assert findings.drifts == [] and findings.checked == 3


def test_order_is_by_publication_time_not_by_the_order_given() -> None:
    facts = [fact("r2", ROUTED, minute=1), fact("r1", REGISTERED, owner="intake")]
    findings = compare(facts, [REPORTING], {"reporting": set()}, {})
    assert [f.event_id for f in findings.drifts[0].repairable] == ["r1", "r2"]
