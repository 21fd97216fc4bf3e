"""Status changes and the answer of an externally originated case travel back to its origin in order,
through a queue that survives restarts, with retries and a circuit breaker; reconciliation repairs drift."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from hub_gateway.breaker import CircuitBreaker, CircuitOpen
from hub_gateway.models import Delivery, ExternalRef
from hub_shared.auth import Role
from hub_shared.events import CaseAnswered, CaseRegistered, CaseRouted, RoutingDecision, Target
from hub_shared.testing import bearer, deliver, deliver_batch

from .conftest import Pair, build


async def life_of(pair, external_id: str, answered: bool = True, one_batch: bool = False) -> uuid.UUID:
    case_id, code, now = uuid.uuid4(), "12345678903", datetime.now(UTC)
    events = [
        CaseRegistered(case_id=case_id, tracking_code=code, case_number="1405-1", kind="complaint", channel="samad",
                       target=Target(agency="labour", province="fars"), registered_at=now, source_system="samad-gateway",
                       external_ref=f"samad:{external_id}"),
        CaseRouted(case_id=case_id, tracking_code=code, unit_id="labour/fars/performance-office", unit_name="اداره کار فارس",
                   decision=RoutingDecision(rule="r", explanation="e"), working_days=10, deadline_at=now + timedelta(days=14),
                   deadline_jalali="1405/01/01", routed_at=now)]
    if answered:
        events.append(CaseAnswered(case_id=case_id, tracking_code=code, unit_id="labour/fars/performance-office", outcome="upheld",
                                   answer_fa="پروانه شما صادر شد.", legal_grounds="ماده ۱۰", answered_at=now))
    if one_batch:
        await deliver_batch(pair.runtime, "samad-gateway", *events)
    else:
        await deliver(pair.runtime, *events)
    return case_id


async def test_the_life_of_a_samad_case_reaches_samad_in_order(pair) -> None:
    external_id = (await pair.create_case())["case"]["external_id"]
    case_id = await life_of(pair, external_id)
    assert await pair.runtime.deliverer.deliver_due() == 1  # one update per case per round: the next waits
    while await pair.runtime.deliverer.deliver_due():
        pass
    updates = await pair.updates(external_id)
    assert [(u["sequence"], u["status"]) for u in updates] == [(1, "REGISTERED"), (2, "IN_PROGRESS"), (3, "ANSWERED")]
    assert updates[0]["tracking_code"] == "12345678903" and updates[2]["answer"]["text"] == "پروانه شما صادر شد."
    async with pair.runtime.sessions() as session:
        assert (await session.get(ExternalRef, ("samad", external_id))).case_id == case_id


async def test_a_case_whose_whole_life_arrives_in_one_batch_reaches_samad_in_order(pair) -> None:
    external_id = (await pair.create_case())["case"]["external_id"]
    await life_of(pair, external_id, one_batch=True)  # registered binds the reference the later facts of the batch use
    while await pair.runtime.deliverer.deliver_due():
        pass
    assert [(u["sequence"], u["status"]) for u in await pair.updates(external_id)] == [(1, "REGISTERED"), (2, "IN_PROGRESS"), (3, "ANSWERED")]


async def test_cases_from_elsewhere_send_nothing(pair) -> None:
    await life_of(pair, "never-received-here")
    async with pair.runtime.sessions() as session:
        assert (await session.exec(select(Delivery))).all() == []


async def test_an_outage_opens_the_circuit_and_the_queue_survives_a_restart(pair, tmp_path) -> None:
    pair.runtime.remotes["samad"].breaker = CircuitBreaker(3, 60)  # the checks below must not race the cool-down
    external_id = (await pair.create_case())["case"]["external_id"]
    await pair.faults(down=True)
    await life_of(pair, external_id)
    for _ in range(3):
        assert await pair.runtime.deliverer.deliver_due() == 0
        await asyncio.sleep(0.05)  # past the row's back-off
    assert pair.runtime.remotes["samad"].breaker.state == "open"
    states = (await pair.gateway.get("/api/v1/remotes", headers=bearer(Role.national_supervisor))).json()
    assert states[0] == {"remote": "samad", "connected": True, "circuit": "open", "pending": 3, "refused": 0}
    await pair.faults(down=False)
    await pair.runtime.engine.dispose()

    restarted, _ = build(tmp_path, samad=_app_of(pair))  # a new process on the same database, the remote back
    while await restarted.deliverer.deliver_due():
        pass
    assert [u["status"] for u in await pair.updates(external_id)] == ["REGISTERED", "IN_PROGRESS", "ANSWERED"]
    await restarted.engine.dispose()


async def test_a_stale_acknowledgement_is_no_acknowledgement(pair) -> None:
    external_id = (await pair.create_case())["case"]["external_id"]
    await life_of(pair, external_id, answered=False)
    await pair.runtime.deliverer.deliver_due()
    await pair.faults(stale_acks=1)
    await pair.runtime.deliverer.deliver_due()  # acknowledged with the previous update's id: sent again
    updates = await pair.updates(external_id)
    assert [u["sequence"] for u in updates] == [1, 2, 2]
    async with pair.runtime.sessions() as session:
        assert {d.state for d in (await session.exec(select(Delivery))).all()} == {"delivered"}


async def test_reconciliation_resends_the_latest_state_where_the_remote_drifted(pair) -> None:
    external_id = (await pair.create_case())["case"]["external_id"]
    await life_of(pair, external_id)
    while await pair.runtime.deliverer.deliver_due():
        pass
    staff = bearer(Role.national_supervisor)
    clean = (await pair.gateway.post("/api/v1/reconcile", params={"remote": "samad"}, headers=staff)).json()
    assert clean["checked"] == 1 and clean["drifted"] == []

    samad_case = await pair.samad.get(f"/admin/cases/{external_id}")
    assert samad_case.json()["status"] == "ANSWERED"
    await _forget_status(pair, external_id)  # the remote lost the last update (restored from a backup, say)
    report = (await pair.gateway.post("/api/v1/reconcile", params={"remote": "samad"}, headers=staff)).json()
    assert report["drifted"] == [{"external_id": external_id, "local_status": "answered", "remote_status": "IN_PROGRESS"}]
    while await pair.runtime.deliverer.deliver_due():
        pass
    assert (await pair.samad.get(f"/admin/cases/{external_id}")).json()["status"] == "ANSWERED"
    machine = bearer(Role.gateway)
    assert (await pair.gateway.post("/api/v1/reconcile", params={"remote": "samad"}, headers=machine)).status_code == 403


def test_the_breaker_opens_after_n_failures_and_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown=10, clock=lambda: now[0])
    breaker.check(); breaker.failed()
    breaker.check(); breaker.failed()
    assert breaker.state == "open"
    try:
        breaker.check()
        raise AssertionError("an open circuit let a call through")
    except CircuitOpen:
        pass
    now[0] = 10
    breaker.check()  # the one trial call
    assert breaker.state == "half-open"
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 20
    breaker.check(); breaker.succeeded()
    assert breaker.state == "closed"


def _app_of(pair):
    return pair.samad._transport.app


async def _forget_status(pair, external_id: str) -> None:
    response = await pair.samad.put(f"/admin/cases/{external_id}/status",
                                    json={"external_id": external_id, "status": "IN_PROGRESS", "last_sequence": 2})
    assert response.status_code == 200


async def test_queued_updates_wake_the_sleeping_delivery_and_go_one_after_the_other(tmp_path) -> None:
    runtime, samad = build(tmp_path, delivery_poll_seconds=60)  # a safety poll no wait below comes near
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://gateway") as gateway, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=samad), base_url="http://samad") as samad_client:
        pair = Pair(runtime, gateway, samad_client)
        external_id = (await pair.create_case())["case"]["external_id"]
        job = asyncio.create_task(runtime.deliverer.run())
        try:
            await asyncio.sleep(0.3)  # nothing queued yet: it sleeps
            await life_of(pair, external_id)
            async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
                with attempt:
                    assert [u["sequence"] for u in await pair.updates(external_id)] == [1, 2, 3]
        finally:
            job.cancel()
    await runtime.engine.dispose()


async def test_the_next_round_waits_for_an_open_circuit_not_for_the_safety_poll(pair) -> None:
    external_id = (await pair.create_case())["case"]["external_id"]
    await life_of(pair, external_id, answered=False)
    deliverer, breaker = pair.runtime.deliverer, pair.runtime.remotes["samad"].breaker
    assert await deliverer.seconds_to_next_round() == 0, "the first update is due"
    for _ in range(3):
        breaker.failed()
    assert 0 < await deliverer.seconds_to_next_round() <= 0.2, "when the circuit lets a trial call through"
