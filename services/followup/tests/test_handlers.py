"""Follow-up's consumer through the in-memory broker on SQLite: one durable timer per routed case."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hub_followup.app import create_runtime
from hub_shared.auth import Role, Scope
from hub_shared.envelope import wrap
from hub_shared.events import CaseRouted, DeadlineScheduled, RoutingDecision
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged


def routed(**overrides) -> CaseRouted:
    due = datetime(2027, 1, 9, 20, 29, 59, tzinfo=UTC)
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id="labour/tehran/performance-office",
                      unit_name="اداره", decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                      deadline_at=due, deadline_jalali="1405/10/19 23:59", routed_at=datetime.now(UTC), **overrides)


async def test_a_routed_case_gets_one_deadline_timer_even_when_delivered_twice(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    event = routed()
    envelope = wrap(event, "/hub/routing")
    await deliver(runtime, envelope, envelope)
    assert [type(e.data) for e in await staged(runtime)] == [DeadlineScheduled]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        timers = (await client.get(f"/api/v1/cases/{event.case_id}/timers", headers=bearer(Role.expert, "labour/tehran"))).json()
    assert [(t["step"], t["status"], t["due_at"][:10]) for t in timers] == [  # reminders 5 and 1 working days before
        ("reminder-5", "pending", "2026-12-30"), ("reminder-1", "pending", "2027-01-05"), ("answer_deadline", "pending", "2027-01-09")]


@pytest.mark.parametrize("headers,case,status,reason", [
    ({}, {}, 401, "Authorization"),
    ({"authorization": "Bearer nonsense"}, {}, 401, "not valid"),
    (bearer(Role.expert, "labour/isfahan"), {}, 403, "outside labour/isfahan"),
    (bearer(Role.agency_system, "labour"), {}, 403, "does not grant timers:read"),
    (bearer(Role.presidential_centre), {}, 403, "does not grant timers:read"),
    (bearer(Role.office_manager, "labour/tehran", scopes=[Scope.cases_read]), {}, 403, "does not grant timers:read"),
    (bearer(Role.unit_responder, "labour/tehran/performance-office"), {}, 200, None),
    (bearer(Role.expert, "labour/tehran"), {}, 200, None),
    (bearer(Role.provincial_supervisor, "labour"), {}, 200, None),
    (bearer(Role.national_supervisor, "national"), {}, 200, None),
    (bearer(Role.expert, "labour/tehran"), {"confidential": True}, 403, "not cleared"),
    (bearer(Role.unit_responder, "labour/tehran"), {"confidential": True}, 403, "not cleared"),
    (bearer(Role.office_manager, "labour/tehran"), {"confidential": True}, 200, None),
    (bearer(Role.inspector, "labour/tehran"), {"confidential": True}, 200, None),
    (bearer(Role.expert, "labour/tehran", subject="e-1042"), {"about_employee": "e-1042"}, 403, "about you"),
    (bearer(Role.national_supervisor, subject="e-1042"), {"about_employee": "e-1042"}, 403, "about you"),
    (bearer(Role.expert, "labour/tehran", subject="e-7"), {"about_employee": "e-1042"}, 200, None),
])
async def test_timers_are_shown_only_to_staff_who_may_see_the_case(tmp_path, headers, case, status, reason) -> None:
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    event = routed(**case)
    await deliver(runtime, event)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        response = await client.get(f"/api/v1/cases/{event.case_id}/timers", headers=headers)
    assert response.status_code == status, response.text
    if reason:
        error = response.json()["error"]
        assert reason in error["message_en"] and error["message_fa"]
        assert error["code"] == ("forbidden" if status == 403 else "not_authenticated")


async def test_a_batch_of_routings_and_reroutings_keeps_one_ladder_per_case(tmp_path, caplog) -> None:
    """A poll brings many cases' facts at once: each batch reads its ladders and case views in one query each, so a
    case routed twice within one batch (routed, returned, routed again) must find the ladder the batch itself made."""
    from sqlmodel import select

    from hub_followup.casework_models import WorkedCase, WorkStep
    from hub_followup.models import Ladder, Timer
    from hub_shared.events import CaseRegistered, Target
    from hub_shared.testing import deliver_batch

    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    first, second = routed(), routed()
    again = first.model_copy(update={"unit_id": "labour/tehran/rey/performance-office"})
    registered = CaseRegistered(case_id=second.case_id, tracking_code=second.tracking_code, case_number="1405-00000002",
                                kind="complaint", channel="web", target=Target(agency="labour", province="tehran"),
                                registered_at=datetime.now(UTC))
    facts = [wrap(first, "/hub/routing"), wrap(registered, "/hub/intake"), wrap(second, "/hub/routing"), wrap(again, "/hub/routing")]
    for group in ("followup", "followup-casework"):
        await deliver_batch(runtime, group, *facts)
        await deliver_batch(runtime, group, *facts)  # the whole batch again: nothing changes
    assert "retrying one by one" not in caplog.text  # each batch went through whole, not event by event after a failure
    async with runtime.sessions() as session:
        ladders = {ladder.case_id: ladder for ladder in (await session.exec(select(Ladder))).all()}
        timers = (await session.exec(select(Timer))).all()
        cases = {case.case_id: case for case in (await session.exec(select(WorkedCase))).all()}
        steps = (await session.exec(select(WorkStep))).all()
    assert {case_id: ladder.number for case_id, ladder in ladders.items()} == {first.case_id: 2, second.case_id: 1}
    assert ladders[first.case_id].unit_id == "labour/tehran/rey/performance-office"
    waiting = [t for t in timers if t.case_id == first.case_id and t.status == "pending"]
    assert len(waiting) == 3 and {t.unit_id for t in waiting} == {"labour/tehran/rey/performance-office"}
    assert cases[second.case_id].kind == "complaint" and cases[first.case_id].unit_id == again.unit_id
    assert sorted(str(step.case_id) for step in steps) == sorted(map(str, [first.case_id, second.case_id, first.case_id]))
    assert len([e for e in await staged(runtime) if isinstance(e.data, DeadlineScheduled)]) == 3
