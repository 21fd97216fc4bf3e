"""Follow-up's consumer through the in-memory broker on SQLite: one durable timer per routed case."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hub_followup.app import create_runtime
from hub_shared.auth import AuthSettings, Role, mint
from hub_shared.envelope import wrap
from hub_shared.events import CaseRouted, DeadlineScheduled, RoutingDecision
from hub_shared.testing import deliver, sqlite_runtime, staged


def bearer(role: Role, unit: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint(AuthSettings(), 'tester', role, unit)}"}


def routed() -> CaseRouted:
    due = datetime(2027, 1, 9, 20, 29, 59, tzinfo=UTC)
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id="labour/tehran/performance-office",
                      unit_name="اداره", decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                      deadline_at=due, deadline_jalali="1405/10/19 23:59", routed_at=datetime.now(UTC))


async def test_a_routed_case_gets_one_deadline_timer_even_when_delivered_twice(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    event = routed()
    envelope = wrap(event, "/hub/routing")
    await deliver(runtime, envelope, envelope)
    assert [type(e.data) for e in await staged(runtime)] == [DeadlineScheduled]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        timers = (await client.get(f"/api/v1/cases/{event.case_id}/timers", headers=bearer(Role.expert, "labour/tehran"))).json()
    assert [(t["step"], t["status"], t["due_at"][:10]) for t in timers] == [("answer_deadline", "pending", "2027-01-09")]


@pytest.mark.parametrize("headers,status,code", [
    ({}, 401, "not_authenticated"),
    ({"authorization": "Bearer nonsense"}, 401, "not_authenticated"),
    (bearer(Role.expert, "labour/isfahan"), 403, "forbidden"),
    (bearer(Role.agency_system, "labour"), 403, "forbidden"),
    (bearer(Role.provincial_supervisor, "labour"), 200, None),
    (bearer(Role.national_supervisor, "national"), 200, None),
])
async def test_timers_are_shown_only_to_staff_of_the_units_that_hold_them(tmp_path, headers, status, code) -> None:
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    event = routed()
    await deliver(runtime, event)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        response = await client.get(f"/api/v1/cases/{event.case_id}/timers", headers=headers)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code and response.json()["error"]["message_en"]
