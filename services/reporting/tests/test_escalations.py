"""The case report counts the escalations of its period, in all and one level down by the unit holding the case."""

from datetime import timedelta

from hub_reporting.app import create_runtime
from hub_shared.envelope import Envelope, wrap
from hub_shared.events import CaseEscalated
from hub_shared.testing import deliver, sqlite_runtime

from .test_reports import AZAR_1405, case_events, get

ISFAHAN = "labour/isfahan/performance-office"


def escalated(case: list[Envelope], from_unit: str, to_unit: str, level: int, after: timedelta) -> Envelope:
    registered = case[0].data
    event = CaseEscalated(case_id=registered.case_id, tracking_code=registered.tracking_code, from_unit=from_unit, to_unit=to_unit,
                          level=level, escalated_at=AZAR_1405 + after)
    envelope = wrap(event, "/hub/followup")
    return Envelope(**{**envelope.__dict__, "time": AZAR_1405 + after})


async def test_escalations_in_the_period_are_counted_by_the_unit_holding_the_case(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    rey, other, isfahan = case_events(1), case_events(2), case_events(3, unit=ISFAHAN)
    unit = rey[1].data.unit_id
    await deliver(runtime, *rey, *other, *isfahan,
                  escalated(rey, unit, "labour/tehran/performance-office", 1, timedelta(days=2)),
                  escalated(rey, unit, "labour/performance-office", 2, timedelta(days=4)),
                  escalated(isfahan, ISFAHAN, "labour/performance-office", 1, timedelta(days=3)),
                  escalated(other, unit, "labour/tehran/performance-office", 1, timedelta(days=40)))  # in Dey: another month
    national = (await get(runtime, "/api/v1/reports/cases", period="1405-09", unit="labour")).json()
    assert national["escalations"] == 3
    assert national["escalations_by_unit"] == [{"key": "labour/isfahan", "escalations": 1}, {"key": "labour/tehran", "escalations": 2}]
    dey = (await get(runtime, "/api/v1/reports/cases", period="1405-10", unit="labour/tehran")).json()
    assert dey["escalations"] == 1 and dey["escalations_by_unit"] == [{"key": "labour/tehran/rey", "escalations": 1}]
