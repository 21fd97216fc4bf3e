"""Routing rules: matching, precedence, outcomes, deadlines per kind, validation, hot reload that keeps
the previous rules when a file is bad, and holiday overrides."""

import os
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub_routing.app import create_runtime
from hub_routing.rulebook import CaseFacts, RuleBook, RuleError, load
from hub_shared.auth import Role
from hub_shared.events import CaseKind, CaseRegistered, CaseRejected, CaseReturned, CaseRouted, Channel, Target
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

UNITS = {"labour/performance-office", "labour/isfahan/performance-office", "labour/isfahan/kashan/performance-office",
         "labour/security-office", "labour/isfahan/security-office", "labour/isfahan/specialised-cooperatives",
         "health/performance-office", "health/isfahan/performance-office"}
KASHAN = Target(agency="labour", province="isfahan", county="kashan")


def exists(unit_id: str) -> object | None:
    return unit_id if unit_id in UNITS else None


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def facts(**changes) -> CaseFacts:
    return CaseFacts(**{"target": KASHAN, "kind": CaseKind.complaint, "channel": Channel.web, **changes})


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    write(folder, "labour.yaml", """
        version: "1"
        agency: labour
        deadlines: {request: 15}
        rules:
          - id: private-life
            when: {topic: [employees-private-life]}
            then: {route_to: security-office}
            explain: employees' private life goes to the security office
          - id: cooperatives
            when: {keywords: [cooperative], kind: [complaint, request]}
            then: {route_to: specialised-cooperatives}
            explain: cooperatives are a specialised matter
          - id: pension-fund
            when: {topic: [affiliated-organisations]}
            then: {route_to: performance-office, agency: health}
            explain: the pension fund answers through its own performance office
          - id: final-ruling
            when: {keywords: [final-ruling]}
            then: {reject: appeal_of_final_ruling}
            explain: appeals against final rulings are not examined here
          - id: not-ours
            when: {topic: [private-companies], channel: [samad]}
            then: {return: outside_mandate}
            explain: private companies' matters referred by SAMAD go back
    """)
    write(folder, "labour-isfahan.yaml", """
        version: "7"
        agency: labour
        province: isfahan
        rules:
          - id: confidential-to-hq-security
            when: {confidential: true, about_employee: true}
            then: {route_to: security-office}
            explain: in Isfahan confidential complaints about staff go to security
    """)
    return folder


def book(folder: Path) -> RuleBook:
    return RuleBook(folder, 30, exists, frozenset({"employees-private-life", "affiliated-organisations", "private-companies"}),
                    frozenset({"cooperative", "final-ruling"}))


@pytest.mark.parametrize("changes,action,unit,rule,matched", [
    ({}, "route", "labour/isfahan/kashan/performance-office", "nearest-level:county", []),
    ({"topic": "employees-private-life"}, "route", "labour/isfahan/security-office", "labour.yaml#private-life",
     ["topic=employees-private-life"]),
    ({"keywords": frozenset({"cooperative", "x"})}, "route", "labour/isfahan/specialised-cooperatives", "labour.yaml#cooperatives",
     ["kind=complaint", "keywords=cooperative"]),
    ({"keywords": frozenset({"cooperative"}), "kind": CaseKind.suggestion}, "route", "labour/isfahan/kashan/performance-office",
     "nearest-level:county", []),
    ({"topic": "affiliated-organisations"}, "route", "health/isfahan/performance-office", "labour.yaml#pension-fund",
     ["topic=affiliated-organisations"]),
    ({"keywords": frozenset({"final-ruling"})}, "reject", None, "labour.yaml#final-ruling", ["keywords=final-ruling"]),
    ({"topic": "private-companies", "channel": Channel.samad}, "return", None, "labour.yaml#not-ours",
     ["channel=samad", "topic=private-companies"]),
    ({"topic": "private-companies"}, "route", "labour/isfahan/kashan/performance-office", "nearest-level:county", []),
    ({"confidential": True, "about_employee": True, "topic": "employees-private-life"}, "route", "labour/isfahan/security-office",
     "labour-isfahan.yaml#confidential-to-hq-security", ["confidential=true", "about_employee=true"]),
])
def test_the_first_matching_rule_decides_and_says_why(rules_dir, changes, action, unit, rule, matched) -> None:
    outcome = book(rules_dir).decide(facts(**changes))
    assert (outcome.action, outcome.unit_id, outcome.decision.rule) == (action, unit, rule)
    assert sorted(outcome.decision.matched) == sorted(matched)
    assert outcome.decision.rules_version and outcome.decision.explanation


def test_a_unit_missing_near_the_case_falls_through_to_the_next_rule_and_says_so(rules_dir) -> None:
    tehran = Target(agency="labour", province="tehran", county="rey")
    outcome = book(rules_dir).decide(facts(target=tehran, keywords=frozenset({"cooperative"})))
    assert outcome.decision.rule == "nearest-level:agency-hq" and "skipped labour.yaml#cooperatives" in outcome.decision.explanation


def test_deadlines_are_set_per_kind_and_agency(rules_dir) -> None:
    rules = book(rules_dir)
    assert rules.working_days(KASHAN, CaseKind.request) == 15
    assert rules.working_days(KASHAN, CaseKind.complaint) == 30
    assert rules.working_days(Target(agency="health", province="fars"), CaseKind.request) == 30


@pytest.mark.parametrize("text,problem", [
    ("version: '1'\nagency: nowhere\n", "unknown agency 'nowhere'"),
    ("version: '1'\nagency: labour\nprovince: atlantis\n", "unknown province"),
    ("version: '1'\nprovince: isfahan\n", "set agency"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, then: {route_to: x-office}, explain: abc}\n", "no unit 'x-office'"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, then: {reject: because}, explain: abc}\n", "unknown reject reason"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, then: {reject: unreasoned, route_to: security-office}, explain: abc}\n", "exactly one"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, when: {keywords: [gossip]}, then: {reject: unreasoned}, explain: abc}\n", "vocabulary"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, when: {topic: [weather]}, then: {reject: unreasoned}, explain: abc}\n", "unknown topic"),
    ("version: '1'\nagency: labour\nrules:\n  - {id: a, when: {colour: red}, then: {reject: unreasoned}, explain: abc}\n", "colour"),
    ("version: '1'\nagency: labour\ndeadlines: {request: 0}\n", "1 to 365"),
    ("version: '1'\nagency: labour\nrules: [{id: a, then: {reject: unreasoned}, explain: abc}, {id: a, then: {reject: unreasoned}, explain: abc}]\n", "repeat"),
    ("version: [unclosed\n", "bad.yaml"),
])
def test_a_rule_file_that_does_not_validate_is_refused_naming_the_file_and_problem(tmp_path, text, problem) -> None:
    write(tmp_path, "bad.yaml", text)
    with pytest.raises(RuleError, match="bad.yaml") as refused:
        load(tmp_path, 30, exists, frozenset({"employees-private-life"}), frozenset({"cooperative"}))
    assert problem in str(refused.value)


def test_two_files_for_the_same_scope_are_refused(rules_dir) -> None:
    write(rules_dir, "labour-again.yaml", "version: '2'\nagency: labour\n")
    with pytest.raises(RuleError, match="already holds"):
        book(rules_dir)


def test_changed_rules_apply_without_a_restart_and_a_bad_change_keeps_the_previous_rules(rules_dir) -> None:
    rules = book(rules_dir)
    before = rules.current.version
    path = rules_dir / "labour.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("deadlines: {request: 15}", "deadlines: {request: 10}"), encoding="utf-8")
    _touch(path)
    assert rules.reload_if_changed() and rules.current.version != before
    assert rules.working_days(KASHAN, CaseKind.request) == 10
    good = rules.current.version
    path.write_text("version: '9'\nagency: labour\nrules: [{id: broken, then: {}, explain: abc}]\n", encoding="utf-8")
    _touch(path)
    assert not rules.reload_if_changed()
    assert rules.current.version == good and rules.working_days(KASHAN, CaseKind.request) == 10
    assert "labour.yaml" in rules.last_error and "exactly one" in rules.last_error


def _touch(path: Path) -> None:
    later = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(later, later))


def test_a_bad_holidays_file_stops_routing_naming_the_setting(tmp_path, monkeypatch) -> None:
    write(tmp_path, "holidays.yaml", "add: [{date: 2026-13-45, reason: nope}]\n")
    monkeypatch.setenv("HUB_ROUTING_HOLIDAYS_FILE", str(tmp_path / "holidays.yaml"))
    with pytest.raises(SystemExit, match="HUB_ROUTING_HOLIDAYS_FILE"):
        sqlite_runtime(create_runtime, "routing", tmp_path)


def registered(kind: str = "complaint", **changes) -> CaseRegistered:
    return CaseRegistered(case_id=uuid.uuid4(), tracking_code="12345678903", case_number="1405-00000001", kind=kind,
                          channel=changes.pop("channel", "web"), target=changes.pop("target", KASHAN), registered_at=datetime.now(UTC),
                          **changes)


async def test_the_service_routes_rejects_and_returns_by_its_rules_folder(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    write(folder, "labour.yaml", """
        version: "3"
        agency: labour
        deadlines: {request: 15}
        rules:
          - {id: staff-inside, when: {about_employee: true, kind: [misconduct_report]}, then: {reject: unreasoned}, explain: test rule}
          - {id: trips, when: {channel: [official_trip]}, then: {return: outside_mandate}, explain: test rule}
    """)
    monkeypatch.setenv("HUB_ROUTING_RULES_DIR", str(folder))
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    await deliver(runtime, registered("request"), registered("misconduct_report", about_employee="p-1"),
                  registered(channel="official_trip"))
    routed, rejected, returned = [envelope.data for envelope in await staged(runtime)]
    assert isinstance(routed, CaseRouted) and routed.working_days == 15 and routed.decision.rules_version
    assert isinstance(rejected, CaseRejected) and rejected.reason_code == "unreasoned" and rejected.reason_fa
    assert isinstance(returned, CaseReturned) and returned.reason_code == "outside_mandate" and returned.by == "routing"
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing") as client:
        shown = (await client.get("/api/v1/rules", headers=bearer(Role.expert, "labour"))).json()
    assert shown["files"] == {"labour.yaml": "3"} and shown["last_error"] is None


def test_a_bad_rules_folder_at_start_stops_routing_naming_the_problem(tmp_path, monkeypatch) -> None:
    write(tmp_path, "broken.yaml", "version: '1'\nagency: nowhere\n")
    monkeypatch.setenv("HUB_ROUTING_RULES_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match="unknown agency 'nowhere'"):
        sqlite_runtime(create_runtime, "routing", tmp_path)


def test_national_rules_come_first_and_the_most_specific_deadline_wins(rules_dir) -> None:
    write(rules_dir, "_all.yaml", """
        version: "n1"
        deadlines: {request: 25, complaint: 20}
        rules:
          - {id: final-ruling-everywhere, when: {keywords: [final-ruling]}, then: {reject: appeal_of_final_ruling}, explain: the law}
    """)
    rules = book(rules_dir)
    outcome = rules.decide(facts(keywords=frozenset({"final-ruling", "cooperative"})))
    assert (outcome.action, outcome.decision.rule) == ("reject", "_all.yaml#final-ruling-everywhere")
    assert rules.working_days(KASHAN, CaseKind.request) == 15, "the agency's own deadline beats the national one"
    assert rules.working_days(KASHAN, CaseKind.complaint) == 20
