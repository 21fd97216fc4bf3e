"""`hub reconcile`: find case facts a consumer group never applied, report them, and (with --repair) send them
again from their owner's outbox. Reads every service's database, as `hub outbox` does; every run's outcome
is stored in each service's `reconcile_report`, so their readiness and metrics show it.

`hub up` runs it with --repair every HUB_RECONCILE_SECONDS (300; 0 turns it off).
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hub_cli.servicedb import DATA_DIR, SERVICE_NAMES, TEMPLATE, database_url_of

if TYPE_CHECKING:
    from hub_shared.reconcile import Findings

log = logging.getLogger("hub.reconcile")
OWNERS = ("intake", "routing", "followup", "samad-gateway")  # the services that publish case facts


@dataclass
class Outcome:
    findings: "Findings"
    repaired: int


async def reconcile(urls: dict[str, str], window: timedelta, settle: timedelta, repair: bool) -> Outcome:
    from hub_shared import db  # here: the database layer is for the commands that open one
    from hub_shared.groups import CASE_STREAM_GROUPS
    from hub_shared.reconcile import applied_ids, compare, held_keys, published_facts, report_row, requeue
    from hub_shared.topics import CASES

    now = datetime.now(UTC)
    since, settled_before = now - window, now - settle
    engines = {service: db.make_engine(url) for service, url in urls.items()}
    sessions = {service: db.make_sessions(engine) for service, engine in engines.items()}
    try:
        facts = []
        for owner in OWNERS:
            async with sessions[owner]() as session:
                facts += await published_facts(session, owner, CASES.name, since, settled_before)
        applied, held = {}, {}
        for group in CASE_STREAM_GROUPS:
            async with sessions[group.service]() as session:
                applied[group.name] = await applied_ids(session, group.name, since - settle)
                held[group.name] = await held_keys(session, group.name)
        findings = compare(facts, list(CASE_STREAM_GROUPS), applied, held)
        repaired = 0
        if repair:
            for owner, event_ids in findings.repairable_by_owner().items():
                async with sessions[owner]() as session, session.begin():
                    repaired += await requeue(session, event_ids)
            for drift in findings.drifts:
                for fact in drift.repairable:
                    log.warning("reconcile: case %s lacked %s %s in group %s; sent again from %s's outbox",
                                fact.case, fact.event_type, fact.event_id, drift.group, fact.owner)
        for service in urls:
            async with sessions[service]() as session, session.begin():
                session.add(report_row(findings, window, repaired))
        return Outcome(findings, repaired)
    finally:
        for engine in engines.values():
            await engine.dispose()


def service_urls(data_dir: Path, template: str) -> dict[str, str]:
    return {service: database_url_of(service, data_dir, template, "") for service in SERVICE_NAMES}


def reconcile_command(
    repair: bool = typer.Option(False, "--repair", help="send the missing facts again (consumers drop what they had)"),
    hours: float = typer.Option(24.0, min=0.01, help="check facts published in this many past hours (the outbox keeps 7 days)"),
    settle_seconds: float = typer.Option(30.0, min=0, help="leave out facts younger than this: they may still be on their way"),
    data_dir: Path = DATA_DIR,
    database_url_template: str = TEMPLATE,
) -> None:
    """Find cases whose state differs between services (a fact some group never applied) and, with --repair, mend them."""
    from rich.console import Console

    console = Console()
    outcome = asyncio.run(reconcile(service_urls(data_dir, database_url_template), timedelta(hours=hours),
                                    timedelta(seconds=settle_seconds), repair))
    findings = outcome.findings
    console.print(f"checked {findings.checked} facts of the last {hours:g} h: {len(findings.cases)} case(s) differ between services")
    for drift in findings.drifts:
        for fact in drift.repairable:
            console.print(f"  {drift.group:18} lacks {fact.event_type} of case {fact.case} (from {fact.owner})"
                          + ("  -> sent again" if repair else ""))
        for fact in drift.behind_later:
            console.print(f"  {drift.group:18} lacks {fact.event_type} of case {fact.case} but applied later facts: "
                          "rebuild that view (reporting: python -m hub_reporting rebuild)")
    if findings.repairable and not repair:
        console.print(f"[yellow]{findings.repairable} fact(s) can be sent again: run with --repair[/]")
        raise typer.Exit(code=1)
    if findings.behind_later:
        raise typer.Exit(code=1)
