"""`hub reconcile` over every service's database (SQLite files and PostgreSQL): a routed case that reporting and
intake never heard of is found, reported by case, and with --repair put back in routing's outbox; every service
stores the outcome for its readiness."""

import importlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from hub_shared.db import migrate, sync_url
from hub_shared.messaging import InboxEntry, OutboxMessage
from hub_shared.reconcile import ReconcileReport
from tests.cli.operator import hub
from tests.conftest import drop_postgres_databases, fresh_postgres_database

PACKAGES = {"intake": "hub_intake", "routing": "hub_routing", "followup": "hub_followup", "reporting": "hub_reporting",
            "samad-gateway": "hub_gateway"}
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)
REGISTERED, ROUTED = "ir.hub.case.registered.v1", "ir.hub.case.routed.v1"


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request, tmp_path):
    """(template or '', data dir, url per service), every service migrated."""
    if request.param == "sqlite":
        urls = {service: f"sqlite+aiosqlite:///{tmp_path}/{service}.db" for service in PACKAGES}
        template, generators = "", []
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        prefix = f"hub_rec_{uuid.uuid4().hex[:6]}"
        generators, urls = [], {}
        base = admin.rsplit("/", 1)[0]
        for service in PACKAGES:
            urls[service] = f"{base}/{prefix}_{service.replace('-', '_')}"
        template = f"{base}/{prefix}_{{service}}"
        from hub_shared.db import ensure_database
        for url in urls.values():
            ensure_database(url)
    for service, package in PACKAGES.items():
        migrate(urls[service], Path(importlib.import_module(package).__file__).parent / "migrations")
    yield template, tmp_path, urls
    if template:
        drop_postgres_databases(request.getfixturevalue("postgres_admin_url"), [url.rsplit("/", 1)[1] for url in urls.values()])


def published(url: str, case: str, event_type: str, minutes: int = 0) -> str:
    event_id = str(uuid.uuid4())
    with Session(create_engine(sync_url(url))) as session:
        session.add(OutboxMessage(event_id=event_id, topic="hub.cases.v1", key=case, value=b"{}", headers={"ce_type": event_type},
                                  created_at=AN_HOUR_AGO + timedelta(minutes=minutes), published_at=AN_HOUR_AGO + timedelta(minutes=minutes),
                                  broker_epoch="old"))
        session.commit()
    return event_id


def applied(url: str, group: str, *event_ids: str) -> None:
    with Session(create_engine(sync_url(url))) as session:
        session.add_all([InboxEntry(consumer=group, event_id=event_id, event_type="x", processed_at=datetime.now(UTC))
                         for event_id in event_ids])
        session.commit()


def a_case_routed_that_reporting_and_intake_missed(urls: dict[str, str]) -> tuple[str, str]:
    case = uuid.uuid4().hex
    registered = published(urls["intake"], case, REGISTERED)
    routed = published(urls["routing"], case, ROUTED, minutes=1)
    applied(urls["routing"], "routing", registered)
    applied(urls["reporting"], "reporting", registered)
    applied(urls["followup"], "followup", routed)
    applied(urls["followup"], "followup-casework", registered, routed)
    applied(urls["samad-gateway"], "samad-gateway", registered, routed)
    return case, routed


def run(databases, *extra: str):
    template, data_dir, _ = databases
    return hub("reconcile", "--data-dir", str(data_dir), *extra, template=template)


def test_drift_is_reported_by_case_and_group_and_nothing_changes_without_repair(databases) -> None:
    urls = databases[2]
    case, routed = a_case_routed_that_reporting_and_intake_missed(urls)
    result = run(databases)
    assert result.exit_code == 1, result.stdout
    assert "1 case(s) differ between services" in result.stdout
    assert f"reporting          lacks {ROUTED} of case {case} (from routing)" in result.stdout
    assert f"intake             lacks {ROUTED} of case {case} (from routing)" in result.stdout
    assert "run with --repair" in result.stdout
    assert pending(urls["routing"]) == []


def test_repair_puts_the_missing_fact_back_in_its_owners_outbox_once_and_every_service_keeps_the_outcome(databases) -> None:
    urls = databases[2]
    case, routed = a_case_routed_that_reporting_and_intake_missed(urls)
    result = run(databases, "--repair")
    assert result.exit_code == 0, result.stdout
    assert "-> sent again" in result.stdout
    assert pending(urls["routing"]) == [routed], "the relay sends it again; groups that had it drop it by event id"
    for service, url in urls.items():
        with Session(create_engine(sync_url(url))) as session:
            report = session.exec(select(ReconcileReport)).one()
        assert (report.drifted_cases, report.repaired, report.needs_rebuild, report.cases) == (1, 1, 0, [case]), service
    applied(urls["reporting"], "reporting", routed)
    applied(urls["intake"], "intake", routed)
    assert run(databases).exit_code == 0, "mended: nothing differs any more"


def test_a_gap_behind_later_facts_is_left_for_a_rebuild(databases) -> None:
    urls = databases[2]
    case, routed = a_case_routed_that_reporting_and_intake_missed(urls)
    answered = published(urls["followup"], case, "ir.hub.case.answered.v1", minutes=2)
    applied(urls["reporting"], "reporting", answered)
    result = run(databases, "--repair")
    assert result.exit_code == 1
    assert f"reporting          lacks {ROUTED} of case {case} but applied later facts: rebuild" in result.stdout


def pending(url: str) -> list[str]:
    with Session(create_engine(sync_url(url))) as session:
        return [row.event_id for row in session.exec(select(OutboxMessage).where(OutboxMessage.published_at == None))]  # noqa: E711
