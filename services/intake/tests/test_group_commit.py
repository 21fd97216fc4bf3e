"""Registrations written together, on a real SQLite database: concurrent web filings share transactions
(group commits) and a consumer batch of SubmitCase commands is admitted at once, with the same answers
as one at a time: each case its own number and codes, the same citizen's repeat linked, a failing filing
failing alone."""

import asyncio
import random
import sqlite3
import time

import httpx
import pytest

from sqlalchemy import event
from sqlmodel import select

from hub_intake import registration
from hub_intake.app import create_runtime
from hub_intake.inbound import InboundSubmissions
from hub_intake.models import Case, CaseHistory, Complainant, PendingRating
from hub_intake.notify.models import Notification
from hub_intake.settings import IntakeSettings
from hub_shared.envelope import wrap
from hub_shared.events import CaseLinked, CaseRegistered, Identity, SubmissionRejected
from hub_shared.testing import sqlite_runtime, staged

from .test_channels import command
from .test_registration import VALID, count


@pytest.fixture
async def intake(tmp_path, monkeypatch):
    """Intake serving one busy address: many filings at once, none refused for the rate."""
    monkeypatch.setenv("HUB_PUBLIC_REQUESTS_PER_MINUTE", "10000")
    monkeypatch.setenv("HUB_HTTP_MAX_IN_FLIGHT", "64")
    monkeypatch.setenv("HUB_HTTP_QUEUE_SECONDS", "5")  # a slow test machine must not shed: these tests are about groups
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    transport = httpx.ASGITransport(app=runtime.app(), raise_app_exceptions=False)  # a failure is a 500, as served
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield runtime, client
    await runtime.engine.dispose()


def national_id(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        rest = sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        value = "".join(map(str, digits)) + str(rest if rest < 2 else 11 - rest)
        if len(set(value)) > 1:
            return value


def citizens(n: int) -> list[dict]:
    rng = random.Random(7)
    return [{**VALID, "national_id": national_id(rng)} for _ in range(n)]


def commits(runtime) -> list[int]:
    """Transactions committed from now on, through the service's engine or its HTTP edge's (where filings are written)."""
    seen = [0]
    for engine in {runtime.engine, runtime.edge_engine}:
        event.listen(engine.sync_engine, "commit", lambda _conn: seen.__setitem__(0, seen[0] + 1))
    return seen


async def test_concurrent_filings_share_transactions_and_each_gets_its_own_case(intake) -> None:
    runtime, client = intake
    committed = commits(runtime)
    filings = citizens(30) + [VALID, VALID]  # the last citizen files the same matter twice at once
    answers = await asyncio.gather(*(client.post("/api/v1/cases", json=filing) for filing in filings))
    assert sorted(answer.status_code for answer in answers) == [200] + [201] * 31, [a.text[:300] for a in answers if a.status_code != 201]
    new = [answer.json() for answer in answers if answer.status_code == 201]
    linked = next(answer.json() for answer in answers if answer.status_code == 200)
    assert len({case["case_number"] for case in new}) == len({case["tracking_code"] for case in new}) == 31
    assert linked["linked"] and linked["tracking_code"] in {case["tracking_code"] for case in new}
    assert committed[0] < len(filings) / 2, f"{committed[0]} transactions for {len(filings)} filings"
    assert await count(runtime, Case) == 32 and await count(runtime, Complainant) == 31
    assert await count(runtime, CaseHistory) == 32  # 31 registrations and one "linked" note on the first case
    assert await count(runtime, Notification) == 31
    types = [type(envelope.data) for envelope in await staged(runtime)]
    assert types.count(CaseRegistered) == 31 and types.count(CaseLinked) == 1
    for case in new:  # every citizen can follow their own case
        tracked = await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "phone": "09121234567"})
        assert tracked.status_code == 200 and tracked.json()["status"] == "registered"


async def test_a_group_stores_its_cases_in_one_statement_and_each_citizen_gets_their_own_number(intake) -> None:
    runtime, client = intake
    committed, inserts = commits(runtime), []
    event.listen(runtime.edge_engine.sync_engine, "before_cursor_execute",
                 lambda *args: inserts.append(1) if args[2].startswith("INSERT INTO intake_case ") else None)
    answers = await asyncio.gather(*(client.post("/api/v1/cases", json=filing) for filing in citizens(40)))
    assert [answer.status_code for answer in answers] == [201] * 40
    assert 0 < len(inserts) == committed[0] < 20, f"{len(inserts)} INSERTs of cases in {committed[0]} transactions"
    async with runtime.sessions() as session:
        stored = {case.tracking_code: case for case in (await session.exec(select(Case))).all()}
    for answer in map(httpx.Response.json, answers):  # the number told to each citizen is the one stored with their case
        case = stored[answer["tracking_code"]]
        assert (answer["case_number"], answer["case_id"]) == (case.case_number, str(case.case_id))
        assert case.case_number.endswith(f"-{case.seq:08d}")


async def test_a_filing_that_fails_fails_alone(intake, monkeypatch) -> None:
    runtime, client = intake
    labels = registration.classify.labels

    def failing(case, subject, description):
        if subject == "خطای آزمایشی":
            raise RuntimeError("classifier down")
        return labels(case, subject, description)

    monkeypatch.setattr(registration.classify, "labels", failing)
    good = citizens(6)
    bad = {**good[0], "national_id": "2914177763", "subject": "خطای آزمایشی"}
    answers = await asyncio.gather(*(client.post("/api/v1/cases", json=filing) for filing in [*good[:3], bad, *good[3:]]))
    assert [answer.status_code for answer in answers] == [201, 201, 201, 500, 201, 201, 201]
    assert await count(runtime, Case) == 6
    async with runtime.sessions() as session:
        subjects = set((await session.exec(select(Case.subject_text))).all())
    assert "خطای آزمایشی" not in subjects


async def test_a_filing_waits_for_the_write_lock_no_longer_than_the_queue_budget(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_HTTP_QUEUE_SECONDS", "0.3")
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    transport = httpx.ASGITransport(app=runtime.app())
    holder = sqlite3.connect(runtime.settings.effective_database_url.split("///", 1)[1], isolation_level=None)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        holder.execute("BEGIN IMMEDIATE")  # another writer (a consumer's batch) holds the lock
        began = time.monotonic()
        refused = await client.post("/api/v1/cases", json=VALID)
        waited = time.monotonic() - began
        holder.execute("ROLLBACK")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2", refused.text
        assert refused.json()["error"]["code"] == "overloaded" and "دوباره" in refused.json()["error"]["message_fa"]
        assert waited < 2, f"refused after {waited:.1f} s"
        assert await count(runtime, Case) == 0 and not await staged(runtime)
        assert (await client.post("/api/v1/cases", json=VALID)).status_code == 201  # the lock is free: filed
        metrics = (await client.get("/metrics")).text
        assert 'hub_http_shed_requests_total{reason="write_wait",service="intake"} 1.0' in metrics
    holder.close()
    await runtime.engine.dispose()


async def test_a_batch_of_commands_is_admitted_together_with_one_answer_each(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    inbound = InboundSubmissions(runtime, IntakeSettings())
    other = Identity(full_name="مریم سلیمی", national_id="0084575948", phone="09121234567", address="تهران، خیابان آزادی، پلاک ۱۲")
    batch = [command(ref="S-1"), command(ref="S-1"),  # the same reference twice: one case
             command(ref="S-2"),  # the same citizen and matter under another reference: linked to S-1
             command(ref="S-3", identity=other),
             command(ref="S-4", system="unknown-province-app")]  # refused
    async with runtime.sessions() as session, session.begin():
        await inbound.on_submits(session, [wrap(item, "/test") for item in batch])
    events = [envelope.data for envelope in await staged(runtime)]
    assert sorted(type(e).__name__ for e in events) == ["CaseLinked", "CaseRegistered", "CaseRegistered", "SubmissionRejected"]
    refused = next(e for e in events if isinstance(e, SubmissionRejected))
    assert (refused.source.ref, refused.reason_code) == ("S-4", "unknown_source")
    async with runtime.sessions() as session:
        refs = sorted((await session.exec(select(Case.external_ref))).all())
    assert refs == ["S-1", "S-2", "S-3"]
    async with runtime.sessions() as session, session.begin():  # delivered again: nothing new
        await inbound.on_submits(session, [wrap(item, "/test") for item in batch[:4]])
    assert len(await staged(runtime)) == 4 and await count(runtime, Case) == 3
    await runtime.engine.dispose()


RATING = {"unit_id": "labour/tehran/rey/performance-office", "score": 4, "aspects": {"respect": 5}}


async def test_concurrent_visit_ratings_share_transactions_and_are_all_kept(tmp_path, monkeypatch) -> None:
    for name, value in {"HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR": "10000", "HUB_HTTP_MAX_IN_FLIGHT": "64",
                        "HUB_HTTP_QUEUE_SECONDS": "5"}.items():
        monkeypatch.setenv(name, value)
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    seen = [0]
    event.listen(runtime.edge_engine.sync_engine, "commit", lambda _conn: seen.__setitem__(0, seen[0] + 1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://intake") as client:
        answers = await asyncio.gather(*(client.post("/api/v1/feedback", json={**RATING, "score": 1 + n % 5}) for n in range(40)))
    assert [answer.status_code for answer in answers] == [202] * 40
    assert 0 < seen[0] < 20, f"{seen[0]} transactions for 40 ratings"
    async with runtime.sessions() as session:
        scores = sorted((await session.exec(select(PendingRating.score))).all())
    assert scores == sorted(1 + n % 5 for n in range(40))
    await runtime.engine.dispose()


async def test_a_visit_rating_waits_for_the_write_lock_no_longer_than_the_queue_budget(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_HTTP_QUEUE_SECONDS", "0.3")
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    holder = sqlite3.connect(runtime.settings.effective_database_url.split("///", 1)[1], isolation_level=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://intake") as client:
        holder.execute("BEGIN IMMEDIATE")
        refused = await client.post("/api/v1/feedback", json=RATING)
        holder.execute("ROLLBACK")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2", refused.text
        assert await count(runtime, PendingRating) == 0
        assert (await client.post("/api/v1/feedback", json=RATING)).status_code == 202
        assert await count(runtime, PendingRating) == 1
    holder.close()
    await runtime.engine.dispose()
