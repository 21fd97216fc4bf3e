"""The SAMAD gateway end to end, with the SAMAD simulator as a separate process: a case created in
SAMAD reaches a unit, is answered, and the answer appears in SAMAD; the same with SAMAD down for a
while; duplicate pushes, stale acknowledgements and a redelivered answer change nothing."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_cli.stack import SERVICES, SIMULATORS, free_port, simulator_env
from hub_shared.envelope import Envelope, to_kafka, wrap
from hub_shared.auth import Role
from hub_shared.testing import bearer
from hub_shared.events import CaseAnswered
from tests.e2e.helpers import read_all

pytestmark = [pytest.mark.e2e, pytest.mark.broker]
GATEWAY = next(spec for spec in SERVICES if spec.name == "samad-gateway")
FAST = {"HUB_GATEWAY_POLL_SECONDS": "1", "HUB_GATEWAY_DELIVERY_POLL_SECONDS": "0.2", "HUB_GATEWAY_RETRY_ATTEMPTS": "2",
        "HUB_GATEWAY_RETRY_INITIAL_SECONDS": "0.05", "HUB_GATEWAY_RETRY_MAX_SECONDS": "0.5",
        "HUB_GATEWAY_BREAKER_FAILURES": "3", "HUB_GATEWAY_BREAKER_COOLDOWN_SECONDS": "1"}


@pytest.fixture(scope="module")
def samad(hub) -> str:
    """Start the SAMAD simulator and restart the gateway pointed at it."""
    spec = SIMULATORS["samad"]
    hub.start_service(spec, port=free_port(), extra_env=simulator_env("samad", hub.url("samad-gateway")))
    gateway = hub.processes.pop("samad-gateway")
    gateway.terminate()
    gateway.wait(15)
    database = {k: v for k, v in hub.service_env.get("samad-gateway", {}).items() if k == "DATABASE_URL"}
    hub.start_service(GATEWAY, extra_env={**database, **FAST, "HUB_GATEWAY_SAMAD_URL": hub.url(spec.name)})
    hub.wait_ready([spec.name, "samad-gateway"], timeout=60)
    yield hub.url(spec.name)
    httpx.put(f"{hub.url(spec.name)}/admin/faults", json={}, timeout=5)


class NotYet(AssertionError):
    pass


def samad_case(url: str, external_id: str, status: str, seconds: float = 40) -> dict:
    @retry(stop=stop_after_delay(seconds), wait=wait_fixed(0.2), retry=retry_if_exception_type(NotYet), reraise=True)
    def poll() -> dict:
        case = httpx.get(f"{url}/admin/cases/{external_id}", timeout=5).json()
        if case["status"] != status:
            raise NotYet(f"{external_id} is {case['status']} in SAMAD, not {status}")
        return case

    return poll()


def registrations(hub, external_id: str) -> list[dict]:
    return [json.loads(r.value) for r in read_all(hub.bootstrap, "hub.cases.v1")
            if json.loads(r.value).get("external_ref") == f"samad:{external_id}"]


def answer(registered: dict) -> Envelope:
    return wrap(CaseAnswered(case_id=registered["case_id"], tracking_code=registered["tracking_code"],
                             unit_id="labour/fars/performance-office", outcome="upheld", answer_fa=f"پاسخ {uuid.uuid4().hex[:6]}",
                             legal_grounds="قانون کار، ماده ۹۶", answered_at=datetime.now(UTC)), "/hub/followup")


def publish(bootstrap: str, *envelopes: Envelope) -> None:
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for envelope in envelopes:
                key, value, headers = to_kafka(envelope)
                await producer.send_and_wait("hub.cases.v1", value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
        finally:
            await producer.stop()

    asyncio.run(run())


def round_trip(hub, samad: str, *, redeliver: bool = False) -> dict:
    created = httpx.post(f"{samad}/admin/cases", json={}, timeout=15).json()
    external_id = created["case"]["external_id"]
    referred = samad_case(samad, external_id, "IN_PROGRESS")
    assert referred["tracking_code"]
    [registered] = registrations(hub, external_id)  # approved by the office manager: followup would publish this
    approved = answer(registered)
    publish(hub.bootstrap, approved, *([approved] if redeliver else []))
    done = samad_case(samad, external_id, "ANSWERED")
    assert done["updates"][-1]["answer"]["text"] == approved.data.answer_fa
    return done


def test_a_case_from_samad_is_answered_by_its_unit_through_followup_and_the_answer_reaches_samad(hub, samad) -> None:
    """The whole way: SAMAD -> gateway -> intake -> routing -> followup (response, the manager's approval) -> SAMAD."""
    created = httpx.post(f"{samad}/admin/cases", json={}, timeout=15).json()
    external_id = created["case"]["external_id"]
    samad_case(samad, external_id, "IN_PROGRESS")
    [registered] = registrations(hub, external_id)
    unit = routed_unit(hub, registered["case_id"])
    work = f"{hub.url('followup')}/api/v1/cases/{registered['case_id']}"

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.2), retry=retry_if_exception_type(AssertionError), reraise=True)
    def respond() -> None:  # followup learns of the routing from the bus
        answer = httpx.post(f"{work}/response", headers=bearer(Role.unit_responder, unit, subject="responder-1"),
                            json={"text": "بازرسی از کارگاه انجام شد و کارفرما به پرداخت معوقات ملزم شد.", "attachments": []})
        assert answer.status_code == 201, answer.text

    respond()
    final = "کارفرما مکلف شد معوقات مزدی شما را ظرف یک ماه بپردازد."
    approval = httpx.post(f"{work}/approval", headers=bearer(Role.office_manager, unit, subject="manager-1"),
                          json={"decision": "approve", "answer_fa": final, "outcome": "upheld", "legal_grounds": "قانون کار، ماده ۳۷"})
    assert approval.status_code == 201, approval.text
    done = samad_case(samad, external_id, "ANSWERED")
    assert done["updates"][-1]["answer"]["text"] == final


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.3), retry=retry_if_exception_type((AssertionError, ValueError)), reraise=True)
def routed_unit(hub, case_id: str) -> str:
    [routed] = [json.loads(r.value) for r in read_all(hub.bootstrap, "hub.cases.v1")
                if r.key and r.key.decode() == case_id and dict(r.headers)["ce_type"] == b"ir.hub.case.routed.v1"]
    return routed["unit_id"]


def test_a_case_from_samad_is_routed_answered_and_the_answer_reaches_samad(hub, samad) -> None:
    done = round_trip(hub, samad)
    assert [u["status"] for u in done["updates"]] == ["REGISTERED", "IN_PROGRESS", "ANSWERED"]
    assert [u["sequence"] for u in done["updates"]] == [1, 2, 3]


def test_updates_wait_while_samad_is_down_and_arrive_in_order_when_it_is_back(hub, samad) -> None:
    httpx.put(f"{samad}/admin/faults", json={"down": True}, timeout=5)
    created = httpx.post(f"{samad}/admin/cases", json={}, timeout=15).json()  # the push itself still reaches the hub
    external_id = created["case"]["external_id"]
    assert created["push_results"] == ["202 accepted"]
    asyncio.run(asyncio.sleep(4))  # routed meanwhile; every update bounces and the circuit opens
    assert httpx.get(f"{samad}/admin/cases/{external_id}", timeout=5).json()["updates"] == []
    httpx.put(f"{samad}/admin/faults", json={}, timeout=5)
    samad_case(samad, external_id, "IN_PROGRESS")
    [registered] = registrations(hub, external_id)
    publish(hub.bootstrap, answer(registered))
    done = samad_case(samad, external_id, "ANSWERED")
    assert [u["sequence"] for u in done["updates"]] == [1, 2, 3]


def test_duplicate_pushes_stale_acknowledgements_and_a_redelivered_answer_change_nothing(hub, samad) -> None:
    httpx.put(f"{samad}/admin/faults", json={"duplicate_pushes": True, "stale_acks": 2}, timeout=5)
    done = round_trip(hub, samad, redeliver=True)
    external_id = done["case"]["external_id"]
    assert done["push_results"] == ["202 accepted", "202 duplicate"]
    assert len(registrations(hub, external_id)) == 1
    sequences = [u["sequence"] for u in done["updates"]]
    assert sequences == sorted(sequences) and sorted(set(sequences)) == [1, 2, 3]  # repeats, never reordered or doubled
    assert [u["status"] for u in done["updates"]].count("ANSWERED") == sequences.count(3)
