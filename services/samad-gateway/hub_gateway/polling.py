"""Polling: besides pushing, each remote lists the cases the hub has not acknowledged yet; the gateway
takes each (idempotently, see `inbound.receive`) and acknowledges it, so the remote stops listing it."""

import asyncio
import logging
from collections.abc import Mapping

from hub_gateway.breaker import CircuitOpen
from hub_gateway.contract import CaseAcknowledgement
from hub_gateway.inbound import receive
from hub_gateway.mapping import RemoteMapping, Unmappable
from hub_gateway.remotes import Refused, Remote, Unavailable
from hub_shared.service import Runtime

log = logging.getLogger(__name__)


async def poll_once(runtime: Runtime, remote: Remote, mapping: RemoteMapping) -> int:
    """Take every pending case of `remote`; return how many were new."""
    accepted = 0
    for case in await remote.pending_cases():
        try:
            outcome = await receive(runtime, remote.name, mapping, case)
            ack = CaseAcknowledgement(accepted=True)
        except Unmappable as unknown:
            log.warning("case %s:%s cannot be mapped: %s", remote.name, case.external_id, unknown)
            outcome, ack = "refused", CaseAcknowledgement(accepted=False, reason=str(unknown))
        accepted += outcome == "accepted"
        await remote.acknowledge_case(case.external_id, ack)
    return accepted


def poller(runtime: Runtime, remotes: Mapping[str, Remote], mappings: Mapping[str, RemoteMapping], every: float):
    async def poll_remotes() -> None:
        while True:
            for name, remote in remotes.items():
                try:
                    await poll_once(runtime, remote, mappings[name])
                except (Unavailable, Refused, CircuitOpen) as failure:
                    log.warning("polling %s failed (%s); next try in %.0fs", name, failure, every)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("polling %s failed; next try in %.0fs", name, every)
            await asyncio.sleep(every)

    return poll_remotes
