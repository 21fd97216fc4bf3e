"""Case work on SQLite through the in-memory broker: from a routed case to the approved final answer,
who may take which step on which case, and a unit's response sent by its agency's system."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub_followup import ladder
from hub_followup.app import create_runtime
from hub_shared.auth import ROLE_SCOPES, Role, Scope
from hub_shared.envelope import wrap
from hub_shared.events import (AnswerReturnedForRework, CaseAnswered, CaseClassified, CaseForwarded, CaseRegistered, CaseReopened, CaseReturned,
                               CaseRouted, FieldInspectionRecorded, InformationReceived, InformationRequested,
                               NotificationRequested, OpinionGiven, ResponseRejected, ResponseSubmitted, RoutingDecision,
                               SourceRef, SubmitResponse, Target)
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

OFFICE = "labour/tehran/performance-office"
REY = "labour/tehran/rey/performance-office"
RESPONSE = {"text": "مدارک پرداخت حق بیمه بررسی شد؛ کسری پرداخت تا پایان ماه جبران می‌شود.\nنامه شماره ۱۲۳ پیوست است.",
            "attachments": [str(uuid.uuid4()), "sha256:" + "ab" * 32]}
OPINION = {"text": "شکایت وارد است و واحد اقدام کرده است.", "proposed_outcome": "upheld"}
APPROVE = {"decision": "approve", "answer_fa": "شکایت شما وارد است؛ کسری بیمه تا پایان ماه پرداخت می‌شود.",
           "outcome": "upheld", "legal_grounds": "ماده ۳۶ قانون تأمین اجتماعی"}
REWORK = {"decision": "rework", "reason": "مستندات پرداخت پیوست نشده است."}
DETAILS = {"details": "تصویر فیش‌های حقوقی شش ماه گذشته را بفرستید."}
INSPECTION = {"findings": "بازدید از کارگاه انجام شد؛ کارگران بیمه نشده بودند.", "attachments": []}
WORK_FACTS = (ResponseSubmitted, InformationRequested, InformationReceived, OpinionGiven, FieldInspectionRecorded,
              AnswerReturnedForRework, CaseAnswered, ResponseRejected, NotificationRequested)

RESPONDER = bearer(Role.unit_responder, OFFICE, subject="r-1")
EXPERT = bearer(Role.expert, OFFICE, subject="e-1")
MANAGER = bearer(Role.office_manager, OFFICE, subject="m-1")


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch) -> Path:
    """The shipped ladder policy, with one agency (health) whose clock does not pause for information requests."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "default.yaml").write_text((ladder.POLICY_DIR / "default.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "health.yaml").write_text("pause_on_information_request: false\n", encoding="utf-8")
    monkeypatch.setenv("HUB_FOLLOWUP_POLICY_DIR", str(folder))
    ladder.policies.cache_clear()
    yield folder
    ladder.policies.cache_clear()


@pytest.fixture
async def followup(tmp_path: Path, policy_dir: Path):
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        yield runtime, client
    await runtime.engine.dispose()


def routed(unit_id: str = OFFICE, deadline_days: int = 40, **overrides) -> CaseRouted:
    return CaseRouted(**{"case_id": uuid.uuid4(), "tracking_code": "12345678903", "unit_id": unit_id, "unit_name": "اداره کار",
                         "decision": RoutingDecision(rule="r", explanation="e"), "working_days": 30,
                         "deadline_at": datetime.now(UTC) + timedelta(days=deadline_days), "deadline_jalali": "1405/10/19 23:59",
                         "routed_at": datetime.now(UTC), **overrides})


async def open_case(runtime, unit_id: str = OFFICE, routed_first: bool = False, **overrides) -> CaseRouted:
    case = routed(unit_id, **overrides)
    agency, province = unit_id.split("/")[:2]
    registered = CaseRegistered(case_id=case.case_id, tracking_code=case.tracking_code, case_number="1405-00000042",
                                kind="complaint", channel="web", target=Target(agency=agency, province=province),
                                confidential=case.confidential, about_employee=case.about_employee,
                                registered_at=datetime.now(UTC))
    await deliver(runtime, *((case, registered) if routed_first else (registered, case)))
    return case


async def step(client, case: CaseRouted, name: str, body: dict | None, headers: dict, status: int = 201) -> dict:
    response = await client.post(f"/api/v1/cases/{case.case_id}/{name}", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def work_facts(runtime) -> list:
    return [envelope.data for envelope in await staged(runtime) if isinstance(envelope.data, WORK_FACTS)]


async def work_of(client, case: CaseRouted, headers: dict = MANAGER) -> dict:
    response = await client.get(f"/api/v1/cases/{case.case_id}/work", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def inbox(client, headers: dict, **params) -> list[str]:
    response = await client.get("/api/v1/inbox", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["case_id"] for item in response.json()["items"]]


# the path to the final answer

async def test_a_case_routed_before_its_registration_arrived_is_worked_the_same(followup) -> None:
    """After the broker lost its memory, each outbox resends on its own: routing's fact can come first."""
    runtime, client = followup
    case = await open_case(runtime, routed_first=True)
    items = (await client.get("/api/v1/inbox", headers=MANAGER)).json()["items"]
    assert [(i["case_id"], i["kind"], i["stage"], i["unit_id"]) for i in items] == [(str(case.case_id), "complaint", "in_progress", OFFICE)]
    assert (await step(client, case, "response", RESPONSE, RESPONDER))["stage"] == "responded"

async def test_response_opinion_and_approval_give_the_final_answer_with_its_text(followup) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    assert (await step(client, case, "response", RESPONSE, RESPONDER))["stage"] == "responded"
    assert (await step(client, case, "opinion", OPINION, EXPERT))["stage"] == "opinion_given"
    assert (await step(client, case, "approval", APPROVE, MANAGER))["stage"] == "answered"

    response, opinion, answer = await work_facts(runtime)
    assert (type(response), response.by, response.attachments, response.unit_id) == (ResponseSubmitted, "r-1", 2, OFFICE)
    assert (type(opinion), opinion.by, opinion.proposed_outcome.value) == (OpinionGiven, "e-1", "upheld")
    assert isinstance(answer, CaseAnswered) and answer.case_id == case.case_id and answer.unit_id == OFFICE
    assert (answer.answer_fa, answer.legal_grounds, answer.outcome.value) == (
        APPROVE["answer_fa"], APPROVE["legal_grounds"], "upheld")
    bus = "".join(envelope.data.model_dump_json() for envelope in await staged(runtime))
    assert "کسری پرداخت" not in bus and OPINION["text"] not in bus, "response and opinion texts stay in follow-up"

    work = await work_of(client, case)
    assert work["stage"] == "answered"
    assert [(s["step"], s["actor"], s["actor_role"]) for s in work["steps"]] == [
        ("routed", "routing", "routing"), ("response", "r-1", "unit_responder"), ("opinion", "e-1", "expert"),
        ("approval", "m-1", "office_manager")]
    assert work["steps"][1]["text"] == RESPONSE["text"] and work["steps"][1]["attachments"] == RESPONSE["attachments"]
    assert await inbox(client, MANAGER) == []
    await step(client, case, "response", RESPONSE, RESPONDER, status=409)


async def test_an_answer_returned_for_rework_needs_new_work_before_approval(followup) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await step(client, case, "response", RESPONSE, RESPONDER)
    assert (await step(client, case, "approval", REWORK, MANAGER))["stage"] == "rework"
    refused = await step(client, case, "approval", APPROVE, MANAGER, status=409)
    assert refused["error"]["code"] == "nothing_to_approve" and refused["error"]["message_fa"]
    await step(client, case, "response", {**RESPONSE, "text": "فیش‌های پرداخت پیوست شد."}, RESPONDER)
    await step(client, case, "approval", APPROVE, MANAGER)
    assert [type(fact) for fact in await work_facts(runtime)] == [
        ResponseSubmitted, AnswerReturnedForRework, ResponseSubmitted, CaseAnswered]
    rework = (await work_of(client, case))["steps"][2]
    assert (rework["step"], rework["actor"], rework["text"]) == ("rework", "m-1", REWORK["reason"])


@pytest.mark.parametrize("decision", [APPROVE, REWORK])
async def test_no_decision_without_a_response_or_an_opinion(followup, decision) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await step(client, case, "field-inspection", INSPECTION, EXPERT)
    refused = await step(client, case, "approval", decision, MANAGER, status=409)
    assert refused["error"]["code"] == "nothing_to_approve" and "no unit response" in refused["error"]["message_en"]
    assert [type(fact) for fact in await work_facts(runtime)] == [FieldInspectionRecorded]


async def test_an_opinion_alone_may_be_approved(followup) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await step(client, case, "opinion", OPINION, EXPERT)
    await step(client, case, "approval", APPROVE, bearer(Role.provincial_supervisor, "labour/tehran", subject="s-1"))
    assert isinstance((await work_facts(runtime))[-1], CaseAnswered)


# asking the citizen for information

async def timer_statuses(client, case: CaseRouted, headers: dict) -> set[str]:
    timers = await client.get(f"/api/v1/cases/{case.case_id}/timers", headers=headers)
    assert timers.status_code == 200, timers.text
    return {timer["status"] for timer in timers.json()}


@pytest.mark.parametrize("agency,pauses", [("labour", True), ("health", False)])
async def test_an_information_request_tells_the_citizen_and_pauses_the_clock_only_per_policy(followup, agency, pauses) -> None:
    runtime, client = followup
    unit = f"{agency}/tehran/performance-office"
    case = await open_case(runtime, unit)
    expert, manager = bearer(Role.expert, unit, subject="e-1"), bearer(Role.office_manager, unit)
    done = await step(client, case, "information-request", DETAILS, expert)
    assert (done["stage"], done["clock_paused"]) == ("awaiting_information", pauses)
    requested, notification = await work_facts(runtime)
    assert isinstance(requested, InformationRequested) and requested.clock_paused is pauses and requested.by == "e-1"
    assert (notification.template.value, notification.params, notification.tracking_code) == (
        "information_requested", DETAILS, case.tracking_code)
    assert await timer_statuses(client, case, manager) == ({"paused"} if pauses else {"pending"})

    await step(client, case, "information-request", DETAILS, expert, status=409)
    assert (await step(client, case, "approval", APPROVE, manager, status=409))["error"]["code"] == "awaiting_information"
    await step(client, case, "response", RESPONSE, bearer(Role.unit_responder, unit))  # work goes on meanwhile
    assert (await step(client, case, "information-received", None, expert))["stage"] == "responded"
    assert isinstance((await work_facts(runtime))[-1], InformationReceived)
    assert await timer_statuses(client, case, manager) == {"pending"}
    await step(client, case, "information-received", None, expert, status=409)


@pytest.mark.parametrize("details", ["تلفن خود را بفرستید: 09121234567", "به citizen@example.com ایمیل بزنید", "a\x00b"])
async def test_an_information_request_carries_no_personal_data_or_control_characters(followup, details) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    refused = await step(client, case, "information-request", {"details": details}, EXPERT, status=422)
    assert [field["field"] for field in refused["error"]["fields"]] == ["details"]
    assert await work_facts(runtime) == []


# the inbox

@pytest.mark.parametrize("headers,case,seen", [
    (RESPONDER, {}, True),
    (bearer(Role.unit_responder, "labour/tehran"), {"unit_id": REY}, True),
    (bearer(Role.expert, REY), {"unit_id": REY}, True),
    (bearer(Role.expert, REY), {}, False),
    (bearer(Role.unit_responder, "labour/isfahan/performance-office"), {}, False),
    (bearer(Role.provincial_supervisor, "labour"), {}, True),
    (bearer(Role.national_supervisor), {}, True),
    (bearer(Role.expert, OFFICE, subject="e-1042"), {"about_employee": "e-1042"}, False),
    (bearer(Role.office_manager, OFFICE, subject="e-1042"), {"about_employee": "e-1042"}, False),
    (bearer(Role.expert, OFFICE, subject="e-7"), {"about_employee": "e-1042"}, True),
    (RESPONDER, {"confidential": True}, False),
    (EXPERT, {"confidential": True}, False),
    (MANAGER, {"confidential": True}, True),
    (bearer(Role.inspector, "labour/tehran"), {"confidential": True}, True),
])
async def test_the_inbox_shows_open_cases_of_the_callers_subtree_that_they_may_see(followup, headers, case, seen) -> None:
    runtime, client = followup
    event = await open_case(runtime, **case)
    assert await inbox(client, headers) == ([str(event.case_id)] if seen else [])


async def test_the_inbox_puts_the_overdue_first_counts_them_and_filters_by_code_kind_and_stage(followup) -> None:
    runtime, client = followup
    later = await open_case(runtime, deadline_days=20, tracking_code="11111111111")
    soon = await open_case(runtime, deadline_days=5, tracking_code="22222222222")
    overdue = await open_case(runtime, deadline_days=-2, tracking_code="33333333333")
    await step(client, later, "response", RESPONSE, RESPONDER)
    page = (await client.get("/api/v1/inbox", headers=MANAGER)).json()
    assert [item["case_id"] for item in page["items"]] == [str(c.case_id) for c in (overdue, soon, later)]
    assert (page["total"], page["overdue"]) == (3, 1)
    assert await inbox(client, MANAGER, tracking_code="22222222222") == [str(soon.case_id)]
    assert await inbox(client, MANAGER, stage="responded") == [str(later.case_id)]
    assert await inbox(client, MANAGER, kind="complaint", stage="in_progress") == [str(overdue.case_id), str(soon.case_id)]
    assert await inbox(client, MANAGER, kind="request") == []
    for refused in ({"tracking_code": "123"}, {"stage": "answered"}):
        assert (await client.get("/api/v1/inbox", headers=MANAGER, params=refused)).status_code == 422


async def test_the_inbox_is_paged_by_deadline_and_follows_moves_and_closures(followup) -> None:
    runtime, client = followup
    late, soon, middle = [await open_case(runtime, deadline_days=days) for days in (50, 10, 30)]
    assert await inbox(client, MANAGER, limit=2) == [str(soon.case_id), str(middle.case_id)]
    page = (await client.get("/api/v1/inbox", headers=MANAGER, params={"limit": 2, "offset": 2})).json()
    assert ([item["case_id"] for item in page["items"]], page["total"]) == ([str(late.case_id)], 3)
    now = datetime.now(UTC)
    await deliver(runtime, CaseForwarded(case_id=soon.case_id, tracking_code=soon.tracking_code, from_unit=OFFICE, unit_id=REY,
                                         unit_name="اداره ری", reason="r", by="m-1", forwarded_at=now),
                  CaseReturned(case_id=middle.case_id, tracking_code=middle.tracking_code, reason_code="outside_mandate",
                               reason_fa="خارج از صلاحیت", reason_en="Outside the mandate", by="m-1", returned_at=now))
    assert await inbox(client, bearer(Role.expert, REY)) == [str(soon.case_id)]
    assert await inbox(client, MANAGER) == [str(late.case_id)]
    assert await inbox(client, bearer(Role.office_manager, "labour/tehran")) == [str(soon.case_id), str(late.case_id)]
    assert (await step(client, middle, "response", RESPONSE, RESPONDER, status=409))["error"]["code"] == "case_not_open"


async def test_a_reopened_case_is_back_in_progress_at_its_unit_with_its_history(followup) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await step(client, case, "response", RESPONSE, RESPONDER)
    await step(client, case, "approval", APPROVE, MANAGER)
    await deliver(runtime, CaseReopened(case_id=case.case_id, tracking_code=case.tracking_code, reopenings=1,
                                        reopened_at=datetime.now(UTC)))
    work = await work_of(client, case)
    assert (work["stage"], work["unit_id"], work["reopenings"]) == ("in_progress", OFFICE, 1)
    assert [s["step"] for s in work["steps"]] == ["routed", "response", "approval", "reopened"]
    assert await inbox(client, RESPONDER) == [str(case.case_id)]
    assert (await step(client, case, "approval", APPROVE, MANAGER, status=409))["error"]["code"] == "nothing_to_approve"
    await step(client, case, "opinion", OPINION, EXPERT)
    await step(client, case, "approval", APPROVE, MANAGER)


# a response sent by an agency's system

def submitted(case: CaseRouted, ref: str = "lab-2291", **changes) -> SubmitResponse:
    fields = {"source": SourceRef(system="labour-erp", ref=ref), "case_id": case.case_id, "tracking_code": case.tracking_code,
              "unit_id": OFFICE, "text": "پاسخ واحد: حق بیمه پرداخت شد.", "attachments": ["sha256:" + "cd" * 32], **changes}
    return SubmitResponse(**fields)


@pytest.mark.parametrize("unit_id", [OFFICE, "labour/tehran"])
async def test_a_response_over_the_bus_is_recorded_once_per_reference(followup, unit_id) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    command = submitted(case, unit_id=unit_id)
    await deliver(runtime, command, command, wrap(command, "/test"))  # redelivered, and sent again as a new message
    (fact,) = await work_facts(runtime)
    assert isinstance(fact, ResponseSubmitted) and (fact.by, fact.source, fact.attachments) == ("labour-erp", command.source, 1)
    response = (await work_of(client, case))["steps"][1]
    assert (response["actor"], response["actor_role"], response["actor_unit"], response["source_ref"], response["text"]) == (
        "labour-erp", "agency_system", unit_id, "lab-2291", command.text)
    await step(client, case, "approval", APPROVE, MANAGER)


@pytest.mark.parametrize("changes,reason", [
    ({"case_id": uuid.uuid4()}, "unknown_case"),
    ({"tracking_code": "99999999990"}, "unknown_case"),
    ({"unit_id": "labour/isfahan/performance-office"}, "not_held_by_unit"),
    ({"unit_id": REY}, "not_held_by_unit"),
    ({"unit_id": "national"}, "not_held_by_unit"),
    ({"unit_id": "labour/teh"}, "not_held_by_unit"),
    ({"text": "\x00"}, "invalid_text"),
])
async def test_a_response_over_the_bus_is_refused_with_its_reason_and_the_senders_reference(followup, changes, reason) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await deliver(runtime, submitted(case, **changes))
    (fact,) = await work_facts(runtime)
    assert isinstance(fact, ResponseRejected) and fact.reason_code == reason and fact.reason_fa and fact.reason_en
    assert fact.source == SourceRef(system="labour-erp", ref="lab-2291")
    assert [s["step"] for s in (await work_of(client, case))["steps"]] == ["routed"]


async def test_a_response_over_the_bus_to_an_answered_case_is_refused(followup) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    await step(client, case, "opinion", OPINION, EXPERT)
    await step(client, case, "approval", APPROVE, MANAGER)
    await deliver(runtime, submitted(case))
    assert (await work_facts(runtime))[-1].reason_code == "case_not_open"


# who may do what

ENDPOINTS = {  # step: (body, the roles that may take it, what must have happened before)
    "response": (RESPONSE, {Role.unit_responder, Role.expert, Role.office_manager}, []),
    "information-request": (DETAILS, {Role.expert, Role.office_manager}, []),
    "information-received": (None, {Role.expert, Role.office_manager}, [("information-request", DETAILS)]),
    "opinion": (OPINION, {Role.expert}, []),
    "field-inspection": (INSPECTION, {Role.inspector, Role.expert}, []),
    "approval": (APPROVE, {Role.office_manager, Role.provincial_supervisor, Role.national_supervisor}, [("response", RESPONSE)]),
}
READING = {Role.expert, Role.unit_responder, Role.office_manager, Role.inspector, Role.provincial_supervisor,
           Role.national_supervisor}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_each_role_may_take_only_its_steps(followup, name, role) -> None:
    runtime, client = followup
    body, allowed, before = ENDPOINTS[name]
    case = await open_case(runtime)
    for earlier, earlier_body in before:
        await step(client, case, earlier, earlier_body, MANAGER if earlier != "response" else RESPONDER)
    headers = bearer(role, "labour/tehran", subject="who")
    if role in allowed:
        assert (await step(client, case, name, body, headers))["case_id"] == str(case.case_id)
        return
    error = (await step(client, case, name, body, headers, status=403))["error"]
    expected = "does not grant cases:read" if Scope.cases_read not in ROLE_SCOPES[role] else f"Role {role.value} cannot"
    assert expected in error["message_en"] and error["message_fa"] and error["code"] == "forbidden"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", ["/api/v1/inbox", "work"])
async def test_every_staff_role_reads_the_inbox_and_the_work_and_machines_do_not(followup, path, role) -> None:
    runtime, client = followup
    case = await open_case(runtime, confidential=False)
    url = path if path.startswith("/") else f"/api/v1/cases/{case.case_id}/work"
    response = await client.get(url, headers=bearer(role, "labour/tehran"))
    assert response.status_code == (200 if role in READING else 403), response.text


@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize("unit,case,status,reason", [
    (None, {}, 401, "Authorization"),
    ("labour/isfahan", {}, 403, "outside labour/isfahan"),
    (OFFICE, {"about_employee": "e-1042"}, 403, "about you"),
    ("national", {"about_employee": "e-1042"}, 403, "about you"),
])
async def test_nobody_works_on_a_case_outside_their_units_or_about_themself(followup, name, unit, case, status, reason) -> None:
    runtime, client = followup
    body, allowed, _ = ENDPOINTS[name]
    role = min(allowed, key=lambda allowed_role: allowed_role.value)  # one that may take the step
    headers = bearer(role, unit, subject="e-1042") if unit else {}
    event = await open_case(runtime, **case)
    error = (await step(client, event, name, body, headers, status=status))["error"]
    assert reason in error["message_en"] and error["message_fa"]
    assert await work_facts(runtime) == []


@pytest.mark.parametrize("role,status", [(Role.expert, 403), (Role.unit_responder, 403), (Role.office_manager, 201),
                                         (Role.inspector, 201)])
async def test_confidential_cases_are_worked_on_only_by_cleared_roles(followup, role, status) -> None:
    runtime, client = followup
    case = await open_case(runtime, confidential=True)
    body = INSPECTION if role == Role.inspector else RESPONSE
    name = "field-inspection" if role == Role.inspector else "response"
    await step(client, case, name, body, bearer(role, OFFICE), status=status)
    response = await client.get(f"/api/v1/cases/{case.case_id}/work", headers=bearer(role, OFFICE))
    assert response.status_code == (200 if status == 201 else 403)


async def test_an_unknown_or_unrouted_case_is_404(followup) -> None:
    runtime, client = followup
    unrouted = routed()
    await deliver(runtime, CaseRegistered(case_id=unrouted.case_id, tracking_code=unrouted.tracking_code, case_number="1405-1",
                                          kind="complaint", channel="web", target=Target(agency="labour", province="tehran"),
                                          registered_at=datetime.now(UTC)))
    for case_id in (uuid.uuid4(), unrouted.case_id):
        response = await client.post(f"/api/v1/cases/{case_id}/response", json=RESPONSE, headers=MANAGER)
        assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_case"


@pytest.mark.parametrize("body", [
    {**RESPONSE, "attachments": ["../../etc/passwd"]},
    {**RESPONSE, "text": "پاسخ\x1b"},
    {**RESPONSE, "text": "   "},
    {**RESPONSE, "unexpected": 1},
])
async def test_malformed_responses_are_refused(followup, body) -> None:
    runtime, client = followup
    case = await open_case(runtime)
    assert (await step(client, case, "response", body, RESPONDER, status=422))["error"]["code"] == "invalid_request"


async def labelled_case(runtime, unit_id: str = OFFICE, number: int = 42, channel: str = "web", topic: str | None = None,
                        kind: str = "complaint", **overrides) -> CaseRouted:
    """A routed case whose registration names its case number, channel, kind and suggested topic."""
    case = routed(unit_id, **overrides)
    agency, province = unit_id.split("/")[:2]
    await deliver(runtime, CaseRegistered(case_id=case.case_id, tracking_code=case.tracking_code, case_number=f"1405-{number:08d}",
                                          kind=kind, channel=channel, target=Target(agency=agency, province=province),
                                          topic_id=topic, registered_at=datetime.now(UTC)), case)
    return case


async def test_the_inbox_filters_by_case_number_topic_channel_and_unit_and_counts_each_tab(followup) -> None:
    runtime, client = followup
    rey = await labelled_case(runtime, REY, number=7, channel="phone_111", topic="insurance", deadline_days=-1)
    office = await labelled_case(runtime, OFFICE, number=8, channel="samad", topic="wages", kind="request")
    answered = await labelled_case(runtime, OFFICE, number=9, channel="web", topic="insurance", deadline_days=3)
    await step(client, answered, "response", RESPONSE, RESPONDER)
    boss = bearer(Role.office_manager, "labour/tehran")
    assert await inbox(client, boss, case_number="1405-00000008") == [str(office.case_id)]
    assert await inbox(client, boss, topic="insurance") == [str(rey.case_id), str(answered.case_id)]
    assert await inbox(client, boss, channel="samad") == [str(office.case_id)]
    assert await inbox(client, boss, unit="labour/tehran/rey") == [str(rey.case_id)]
    assert await inbox(client, boss, unit="labour/fars") == [], "a unit outside the caller's shows nothing"
    assert await inbox(client, boss, overdue="true") == [str(rey.case_id)]
    page = (await client.get("/api/v1/inbox", headers=boss, params={"stage": "responded"})).json()
    assert [item["case_number"] for item in page["items"]] == ["1405-00000009"]
    assert (page["items"][0]["channel"], page["items"][0]["topic_id"]) == ("web", "insurance")
    assert page["total"] == 1 and page["tabs"] == {"all": 3, "overdue": 1, "in_progress": 2, "awaiting_information": 0,
                                                   "responded": 1, "opinion_given": 0, "rework": 0}
    topical = (await client.get("/api/v1/inbox", headers=boss, params={"topic": "insurance"})).json()["tabs"]
    assert (topical["all"], topical["in_progress"], topical["responded"]) == (2, 1, 1)
    for refused in ({"case_number": "42"}, {"unit": "../labour"}):
        assert (await client.get("/api/v1/inbox", headers=boss, params=refused)).status_code == 422


async def test_a_topic_staff_settle_replaces_intakes_suggestion_in_the_inbox(followup) -> None:
    runtime, client = followup
    case = await labelled_case(runtime, topic="insurance")
    await deliver(runtime, CaseClassified(case_id=case.case_id, tracking_code=case.tracking_code, topic_id="wages",
                                          previous_topic_id="insurance", confirmed=False, by="e-1", classified_at=datetime.now(UTC)))
    assert await inbox(client, MANAGER, topic="wages") == [str(case.case_id)]
    assert await inbox(client, MANAGER, topic="insurance") == []
