"""The gateway's outbound queue on PostgreSQL with two replicas: their delivery rounds race, and SAMAD
still receives each update of a case once, in order."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub_gateway.app import create_runtime
from hub_gateway.settings import GatewaySettings
from hub_gateway.simulator.app import create_app
from hub_shared.db import sole_worker
from hub_shared.events import CaseAnswered, CaseRegistered, CaseRouted, RoutingDecision, Target
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.testing import LateApp, deliver

pytestmark = pytest.mark.postgres

TOKEN = "samad-shared-secret-for-tests"
FARS = "labour/fars/performance-office"


def replica(database_url: str, data_dir: Path, samad: FastAPI) -> Runtime:
    settings = GatewaySettings(samad_url="http://samad", samad_token=TOKEN, retry_attempts=2, retry_initial_seconds=0.01,
                               retry_max_seconds=0.02)
    runtime = create_runtime(HubSettings(service_name="samad-gateway", data_dir=data_dir, database_url=database_url), settings,
                             transport=httpx.ASGITransport(app=samad))
    runtime.migrate()
    return runtime


def pair(database_url: str, data_dir: Path) -> tuple[Runtime, Runtime, FastAPI]:
    """Two gateway replicas on one database and a SAMAD that pushes its new cases to the first."""
    to_gateway = LateApp()
    samad = create_app("samad", "http://gateway", TOKEN, transport=httpx.ASGITransport(app=to_gateway))
    first, second = (replica(database_url, data_dir / name, samad) for name in ("a", "b"))
    to_gateway.app = first.app()
    return first, second, samad


def life_of(external_id: str) -> list:
    case_id, code, now = uuid.uuid4(), "12345678903", datetime.now(UTC)
    return [
        CaseRegistered(case_id=case_id, tracking_code=code, case_number="1405-1", kind="complaint", channel="samad",
                       target=Target(agency="labour", province="fars"), registered_at=now, source_system="samad-gateway",
                       external_ref=f"samad:{external_id}"),
        CaseRouted(case_id=case_id, tracking_code=code, unit_id=FARS, unit_name="اداره کار فارس",
                   decision=RoutingDecision(rule="r", explanation="e"), working_days=10, deadline_at=now + timedelta(days=14),
                   deadline_jalali="1405/01/01", routed_at=now),
        CaseAnswered(case_id=case_id, tracking_code=code, unit_id=FARS, outcome="upheld", answer_fa="پروانه شما صادر شد.",
                     legal_grounds="ماده ۱۰", answered_at=now)]


async def test_two_replicas_deliver_each_update_once_in_order(postgres_database: str, tmp_path: Path) -> None:
    first, second, samad = pair(postgres_database, tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=samad), base_url="http://samad") as admin:
        external_ids = []
        for _ in range(5):
            created = await admin.post("/admin/cases", json={})
            assert created.status_code == 201, created.text
            external_ids.append(created.json()["case"]["external_id"])
            await deliver(first, *life_of(external_ids[-1]))

        idle_rounds = 0
        while idle_rounds < 3:
            delivered = await asyncio.gather(first.deliverer.deliver_due(), second.deliverer.deliver_due())
            idle_rounds = idle_rounds + 1 if sum(delivered) == 0 else 0

        for external_id in external_ids:
            updates = (await admin.get(f"/admin/cases/{external_id}")).json()["updates"]
            assert [(u["sequence"], u["status"]) for u in updates] == [(1, "REGISTERED"), (2, "IN_PROGRESS"), (3, "ANSWERED")], \
                "each update once, in order, however the replicas' rounds interleave"
    for runtime in (first, second):
        await runtime.engine.dispose()


async def test_a_replica_waits_while_another_holds_the_round(postgres_database: str, tmp_path: Path) -> None:
    first, second, samad = pair(postgres_database, tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=samad), base_url="http://samad") as admin:
        external_id = (await admin.post("/admin/cases", json={})).json()["case"]["external_id"]
        await deliver(first, *life_of(external_id))
        async with first.sessions() as session, session.begin():
            assert await sole_worker(session, "gateway:delivery")
            assert await second.deliverer.deliver_due() == 0, "the other replica holds the round"
        assert await second.deliverer.deliver_due() == 1, "the round is free again once the holder is done"
    for runtime in (first, second):
        await runtime.engine.dispose()
