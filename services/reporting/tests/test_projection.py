"""Reporting's projection through the in-memory broker on SQLite: status and ordered history."""

import uuid
from datetime import UTC, datetime

import httpx

from hub_reporting.app import create_runtime
from hub_shared.envelope import wrap
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted, RoutingDecision, Target
from hub_shared.testing import deliver, sqlite_runtime
from hub_shared.tracking import luhn_check_digit


async def status(runtime, code: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        return await client.get(f"/api/v1/status/{code}")


def registered(case_id: uuid.UUID, code: str) -> CaseRegistered:
    return CaseRegistered(case_id=case_id, tracking_code=code, case_number="1405-00000007", kind="request", channel="web",
                          target=Target(agency="health", province="fars"), registered_at=datetime.now(UTC))


async def test_status_follows_the_facts_and_redelivery_adds_no_history(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "55555555550"
    routed = CaseRouted(case_id=case_id, tracking_code=code, unit_id="health/fars/performance-office", unit_name="اداره فارس",
                        decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                        deadline_at=datetime(2027, 1, 9, tzinfo=UTC), deadline_jalali="x", routed_at=datetime.now(UTC))
    first, second = wrap(registered(case_id, code), "/hub/intake"), wrap(routed, "/hub/routing")
    await deliver(runtime, first, second, second)
    body = (await status(runtime, "۵۵۵۵۵۵۵۵۵۵۰")).json()  # Persian digits are accepted
    assert body["status"] == "referred" and body["unit_name"] == "اداره فارس" and body["case_number"] == "1405-00000007"
    assert [h["status"] for h in body["history"]] == ["registered", "referred"]


async def test_rejection_shows_its_reason_and_unknown_codes_are_404(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "66666666665"
    rejected = CaseRejected(case_id=case_id, tracking_code=code, reason_code="unclear_target", reason_fa="مرجع نامشخص",
                            reason_en="unclear target", rejected_at=datetime.now(UTC))
    await deliver(runtime, registered(case_id, code), rejected)
    body = (await status(runtime, code)).json()
    assert body["status"] == "rejected" and "مرجع نامشخص" in body["history"][-1]["note_fa"]
    missing = await status(runtime, "12345678903")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_tracking_code"


async def test_tracking_codes_cannot_be_enumerated(tmp_path) -> None:
    """Mistyped codes are caught by the check digit; after 10 unknown codes an address is locked out."""
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        mistyped = await client.get("/api/v1/status/12345678904")
        assert mistyped.status_code == 422 and mistyped.json()["error"]["code"] == "mistyped_tracking_code"
        unknown = [f"{n:010d}" + str(luhn_check_digit(f"{n:010d}")) for n in range(1, 11)]
        answers = [(await client.get(f"/api/v1/status/{code}")).status_code for code in unknown[:9]]
        assert answers == [404] * 9, "one mistyped and nine unknown codes: ten misses"
        locked = await client.get(f"/api/v1/status/{unknown[9]}")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60
    assert locked.json()["error"]["code"] == "too_many_requests"
