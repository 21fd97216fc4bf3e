"""Cases arriving from a remote (pushed or polled) become `SubmitCase` commands on hub.inbound.v1,
staged in the outbox in the same transaction as the receipt row. A case already received (same remote,
same external id) stages nothing: the gateway answers 'duplicate'. Intake dedups by source reference too,
so even a command staged twice registers one case."""

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from hub_gateway.contract import RemoteCase
from hub_gateway.mapping import RemoteMapping, to_submission
from hub_gateway.models import ExternalRef
from hub_shared.service import Runtime

log = logging.getLogger(__name__)


async def receive(runtime: Runtime, remote: str, mapping: RemoteMapping, case: RemoteCase) -> str:
    """Take one case from `remote`; return 'accepted' or 'duplicate'. Raises Unmappable for unknown codes."""
    command = to_submission(remote, mapping, case)
    try:
        async with runtime.sessions() as session, session.begin():
            if await session.get(ExternalRef, (remote, case.external_id)) is not None:
                return "duplicate"
            now = datetime.now(UTC)
            session.add(ExternalRef(remote=remote, external_id=case.external_id, last_status="received", received_at=now, updated_at=now))
            runtime.stage(session, command)
    except IntegrityError:  # a push and a poll of the same case raced; the other one won
        return "duplicate"
    runtime.committed()
    log.info("case %s:%s received and submitted", remote, case.external_id)
    return "accepted"
