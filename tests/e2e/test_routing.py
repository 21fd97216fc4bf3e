"""Routing by the rules in force, through five processes and a real broker: intake classifies the text
(which never leaves intake), routing matches the labels, every decision says why."""

import json

import httpx
import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.testing import bearer
from tests.e2e.helpers import read_all, submit, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.broker]
ISFAHAN = {"agency": "labour", "province": "isfahan", "county": "kashan"}


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def fact(hub, case_id: str, event_type: str) -> dict:
    found = [json.loads(r.value) for r in read_all(hub.bootstrap, "hub.cases.v1")
             if r.key and r.key.decode() == case_id and dict(r.headers)["ce_type"].decode() == event_type]
    assert found, f"no {event_type} for {case_id} yet"
    return found[0]


def test_a_cooperatives_complaint_goes_to_the_specialised_unit_and_says_why(hub) -> None:
    case = submit(hub, target=ISFAHAN, subject="مشکل با هیئت مدیره تعاونی مسکن",
                  description="هیئت مدیره شرکت تعاونی مسکن ما سه سال است مجمع عمومی برگزار نکرده و سهم اعضا را پس نمی‌دهد.")
    registered = fact(hub, case["case_id"], "ir.hub.case.registered.v1")
    assert registered["topic_id"] == "cooperatives" and "cooperative" in registered["keywords"]
    assert "مجمع" not in json.dumps(registered, ensure_ascii=False), "the citizen's words stay in intake"
    routed = fact(hub, case["case_id"], "ir.hub.case.routed.v1")
    assert routed["unit_id"] == "labour/isfahan/specialised-cooperatives"
    assert routed["decision"]["rule"] == "labour.yaml#cooperatives" and routed["decision"]["matched"] == ["topic=cooperatives"]
    assert routed["decision"]["rules_version"]


def test_an_appeal_of_a_final_ruling_is_rejected_by_the_national_rule(hub) -> None:
    case = submit(hub, target=ISFAHAN, subject="اعتراض به رأی هیئت حل اختلاف",
                  description="هیئت حل اختلاف اداره کار رأی قطعی علیه من صادر کرده و می‌خواهم دوباره بررسی شود.")
    status = wait_for_status(hub, case["tracking_code"], "rejected", history=2)
    assert "رأی قطعی" in status["history"][-1]["note_fa"]


def test_the_rules_in_force_are_shown_to_staff(hub) -> None:
    shown = httpx.get(f"{hub.url('routing')}/api/v1/rules", headers=bearer(Role.expert, "labour")).json()
    assert {"_all.yaml", "labour.yaml", "hajj.yaml"} <= shown["files"].keys() and shown["last_error"] is None


def test_the_bus_consumers_run_at_a_lower_cpu_priority_than_the_citizen_edge(hub) -> None:
    """On a shared machine a backlog the consumers work through must not slow intake's answers (its refusals
    included): the launcher starts them niced, intake at the normal priority."""
    import os

    priorities = {name: os.getpriority(os.PRIO_PROCESS, process.pid) for name, process in hub.processes.items()}
    assert priorities["intake"] == os.getpriority(os.PRIO_PROCESS, 0)  # as the launcher's own
    assert {priorities[name] - priorities["intake"] for name in ("routing", "followup", "reporting", "samad-gateway")} == {5}
