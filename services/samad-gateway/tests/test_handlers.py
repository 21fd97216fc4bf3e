"""The gateway remembers only cases that came from SAMAD or the inspection organization."""

import uuid
from datetime import UTC, datetime

from sqlmodel import select

from hub_gateway.app import create_runtime
from hub_gateway.models import ExternalCase
from hub_shared.events import CaseRegistered, Target
from hub_shared.testing import deliver, sqlite_runtime


def registered(channel: str) -> CaseRegistered:
    return CaseRegistered(case_id=uuid.uuid4(), tracking_code="12345678903", case_number="1405-1", kind="complaint",
                          channel=channel, target=Target(agency="labour", province="tehran"), registered_at=datetime.now(UTC))


async def test_only_externally_originated_cases_are_tracked(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "samad-gateway", tmp_path)
    samad, web = registered("samad"), registered("web")
    await deliver(runtime, samad, web)
    async with runtime.sessions() as session:
        tracked = (await session.exec(select(ExternalCase))).all()
    assert [(t.case_id, t.origin) for t in tracked] == [(samad.case_id, "samad")]
