"""Reconciliation: compare what a remote believes about each known case with the hub's latest state,
and repair drift by queueing the latest state again (a new update, after everything already queued)."""

import logging
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import col, select

from hub_gateway.handlers import enqueue
from hub_gateway.mapping import RemoteMapping
from hub_gateway.models import Delivery, ExternalRef
from hub_gateway.remotes import Remote
from hub_shared.db import SessionFactory

log = logging.getLogger(__name__)


class Drift(BaseModel):
    external_id: str
    local_status: str
    remote_status: str | None


class ReconcileReport(BaseModel):
    remote: str
    checked: int
    in_flight: int
    drifted: list[Drift]


async def reconcile(sessions: SessionFactory, remote: Remote, mapping: RemoteMapping, limit: int = 1000) -> ReconcileReport:
    async with sessions() as session:
        refs = (await session.exec(select(ExternalRef).where(ExternalRef.remote == remote.name, col(ExternalRef.case_id).is_not(None))
                                   .order_by(col(ExternalRef.updated_at).desc()).limit(limit))).all()
    drifted, in_flight = [], 0
    for ref in refs:
        async with sessions() as session, session.begin():
            if await _pending(session, ref):
                in_flight += 1  # the queue will bring the remote up to date by itself
                continue
            latest = await _latest(session, ref)
            if latest is None:
                continue
            seen = await remote.status_of(ref.external_id)
            if seen.status == mapping.remote_status(latest.status) and seen.last_sequence >= latest.sequence:
                continue
            drifted.append(Drift(external_id=ref.external_id, local_status=latest.status, remote_status=seen.status))
            stored = await session.get(ExternalRef, (ref.remote, ref.external_id))
            await enqueue(session, stored, latest.status, {**latest.payload, "occurred_at": datetime.now(UTC).isoformat()})
    log.info("reconciled %s: %d checked, %d drifted", remote.name, len(refs), len(drifted))
    return ReconcileReport(remote=remote.name, checked=len(refs), in_flight=in_flight, drifted=drifted)


async def _pending(session, ref: ExternalRef) -> bool:
    return (await session.exec(select(Delivery.id).where(Delivery.remote == ref.remote, Delivery.external_id == ref.external_id,
                                                         Delivery.state == "pending").limit(1))).first() is not None


async def _latest(session, ref: ExternalRef) -> Delivery | None:
    return (await session.exec(select(Delivery).where(Delivery.remote == ref.remote, Delivery.external_id == ref.external_id)
                               .order_by(col(Delivery.sequence).desc()).limit(1))).first()
