"""Routing's consumer through the in-memory broker on SQLite: registered -> routed or rejected, once."""

import uuid
from datetime import UTC, date, datetime

from hub_routing.app import create_runtime
from hub_shared.calendar import STANDARD, THURSDAY_WORKING, WorkingCalendar
from hub_shared.envelope import wrap
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted, OrgUnitUpserted, Target
from hub_shared.testing import deliver, sqlite_runtime, staged


def registered(agency: str = "labour", county: str | None = "rey") -> CaseRegistered:
    return CaseRegistered(case_id=uuid.uuid4(), tracking_code="12345678903", case_number="1405-00000001", kind="complaint",
                          channel="web", target=Target(agency=agency, province="tehran", county=county),
                          registered_at=datetime(2026, 11, 24, 10, tzinfo=UTC))


async def test_a_registered_case_is_routed_once_even_when_delivered_twice(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    envelope = wrap(registered(), "/hub/intake")
    await deliver(runtime, envelope, envelope)
    events = await staged(runtime)
    assert [type(e.data) for e in events] == [CaseRouted]
    routed = events[0].data
    assert routed.unit_id == "labour/tehran/rey/performance-office" and routed.working_days == 30
    assert routed.decision.rule == "nearest-level:county"
    assert routed.deadline_jalali.startswith("1405/10/")


async def test_a_routed_case_names_the_working_calendar_of_its_unit(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    standard = registered()
    await deliver(runtime, standard)
    await deliver(runtime, OrgUnitUpserted(  # the Rey office starts working on Thursdays
        unit_id="labour/tehran/rey/performance-office", parent_id="labour/tehran/rey", kind="performance_office",
        name_fa="دفتر مدیریت عملکرد اداره ری", calendar=THURSDAY_WORKING, changed_by="tehran-province-system",
        changed_at=datetime.now(UTC)))
    thursday_working = registered()
    await deliver(runtime, thursday_working)
    first, second = [e.data for e in await staged(runtime) if isinstance(e.data, CaseRouted)]
    assert (first.calendar, second.calendar) == (STANDARD, THURSDAY_WORKING)
    assert first.deadline_at == WorkingCalendar().deadline(standard.registered_at, 30)
    assert second.deadline_at == WorkingCalendar(thursday_off=False).deadline(thursday_working.registered_at, 30) < first.deadline_at


async def test_the_deadline_skips_a_closure_in_the_shared_holidays_file(tmp_path, monkeypatch) -> None:
    closures = tmp_path / "holidays.yaml"
    closures.write_text("add: [{date: 2026-11-25, reason: تعطیلی به دلیل آلودگی هوا}]\n", encoding="utf-8")
    monkeypatch.setenv("HUB_HOLIDAYS_FILE", str(closures))
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    case = registered()
    await deliver(runtime, case)
    [routed] = [e.data for e in await staged(runtime)]
    closed = WorkingCalendar(extra_holidays=frozenset({date(2026, 11, 25)}))
    assert routed.deadline_at == closed.deadline(case.registered_at, 30) > WorkingCalendar().deadline(case.registered_at, 30)


async def test_a_case_without_a_responsible_unit_is_rejected_with_a_reason(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    await deliver(runtime, registered(agency="ministry-of-nowhere"))
    [event] = await staged(runtime)
    assert isinstance(event.data, CaseRejected) and event.data.reason_code == "unclear_target"
    assert event.data.reason_fa and event.data.reason_en
