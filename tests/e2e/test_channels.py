"""Cases from other systems over the real bus: a SubmitCase on hub.inbound.v1 is registered once and
routed; a bad one is refused on hub.cases.v1 with the sender's reference."""

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import Channel, Identity, SourceRef, SubmitCase, Target
from hub_shared.testing import random_national_id
from tests.e2e.helpers import read_all, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def command(ref: str, national_id: str, **changes) -> SubmitCase:
    return SubmitCase(**{
        "source": SourceRef(system="samad-gateway", ref=ref), "channel": Channel.samad, "kind": "request",
        "identity": Identity(full_name="نرگس امینی", national_id=national_id, phone="09171234567", address="شیراز، خیابان زند، پلاک ۷"),
        "title": "درخواست بازدید از کارگاه", "description": "کارگاه محل کار ما ایمنی ندارد؛ درخواست بازدید دارم.",
        "target": Target(agency="labour", province="fars", county="shiraz"), **changes})


def publish(bootstrap: str, *commands: SubmitCase) -> None:
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for item in commands:
                key, value, headers = to_kafka(wrap(item, "/samad-gateway"))
                await producer.send_and_wait("hub.inbound.v1", value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
        finally:
            await producer.stop()

    asyncio.run(run())


def answers(hub, ref: str) -> list[dict]:
    found = []
    for record in read_all(hub.bootstrap, "hub.cases.v1"):
        body = json.loads(record.value)
        if ref in (body.get("external_ref"), (body.get("source") or {}).get("ref")):
            found.append({"type": dict(record.headers)["ce_type"].decode(), **body})
    return found


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def first_answer(hub, ref: str, event_type: str) -> dict:
    found = [answer for answer in answers(hub, ref) if answer["type"] == event_type]
    assert found, f"no {event_type} for {ref} yet"
    return found[0]


def test_a_case_from_samad_is_registered_once_and_routed(hub) -> None:
    ref = f"SAMAD-{uuid.uuid4().hex[:8]}"
    national_id = random_national_id()
    publish(hub.bootstrap, command(ref, national_id), command(ref, national_id))  # delivered twice

    case = first_answer(hub, ref, "ir.hub.case.registered.v1")
    assert case["channel"] == "samad" and case["source_system"] == "samad-gateway"
    status = wait_for_status(hub, case["tracking_code"], "referred", history=3)
    assert status["unit_name"]
    assert len([a for a in answers(hub, ref) if a["type"] == "ir.hub.case.registered.v1"]) == 1
    assert national_id.encode() not in b"".join(r.value for r in read_all(hub.bootstrap, "hub.cases.v1"))


def test_a_bad_submission_is_refused_with_the_senders_reference(hub) -> None:
    ref = f"SAMAD-{uuid.uuid4().hex[:8]}"
    publish(hub.bootstrap, command(ref, "1234567890"))  # checksum fails

    refusal = first_answer(hub, ref, "ir.hub.inbound.submission-rejected.v1")
    assert refusal["reason_code"] == "invalid_national_id" and refusal["source"] == {"system": "samad-gateway", "ref": ref}
    assert refusal["reason_fa"] and "1234567890" not in json.dumps(refusal)
