"""The change feed's `latest` view: the last changes, newest first, within the caller's subtree; its cursor
continues in commit order after the newest."""

from hub_reporting.app import create_runtime
from hub_shared.auth import Role
from hub_shared.testing import bearer, deliver, sqlite_runtime

from .test_reports import case_events, get


async def test_latest_gives_the_last_changes_newest_first_and_a_cursor_after_them(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    await deliver(runtime, *case_events(1), *case_events(2, unit="labour/isfahan/performance-office"))
    centre = bearer(Role.presidential_centre)
    page = (await get(runtime, "/api/v1/changes", centre, limit=4, latest="true")).json()
    assert [(c["tracking_code"], c["status"]) for c in page["changes"]] == [
        ("00000000002", "answered"), ("00000000002", "referred"), ("00000000002", "registered"), ("00000000001", "answered")]
    assert page["has_more"] is True, "two older changes were left out"
    everything = (await get(runtime, "/api/v1/changes", centre, limit=100)).json()
    assert page["next_cursor"] == everything["next_cursor"]
    assert (await get(runtime, "/api/v1/changes", centre, cursor=page["next_cursor"])).json()["changes"] == []
    scoped = (await get(runtime, "/api/v1/changes", bearer(Role.provincial_supervisor, "labour/isfahan"), limit=10, latest="true")).json()
    assert {c["tracking_code"] for c in scoped["changes"]} == {"00000000002"} and scoped["has_more"] is False
