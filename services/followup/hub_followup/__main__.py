"""`python -m hub_followup` runs the service; `python -m hub_followup retry-failed CASE_ID` puts a case's
ladder steps that failed for good back in line, once their cause is fixed (same settings as the service)."""

import asyncio
import sys
import uuid

from hub_shared.service import main

from hub_followup.app import create_runtime


def retry_failed_steps(arguments: list[str]) -> int:
    from hub_followup.firing import retry_failed
    from hub_shared.settings import HubSettings

    try:
        [case] = arguments
        case_id = uuid.UUID(case)
    except ValueError:
        print("usage: python -m hub_followup retry-failed CASE_ID  (the case's UUID, as the timers API shows it)", file=sys.stderr)
        return 2

    async def retry() -> int:
        runtime = create_runtime(HubSettings(service_name="followup"))
        try:
            async with runtime.sessions() as session, session.begin():
                return await retry_failed(session, case_id)
        finally:
            await runtime.engine.dispose()

    retried = asyncio.run(retry())
    print(f"{retried} failed step(s) of case {case_id} are due again" if retried else f"case {case_id} has no failed steps")
    return 0


if sys.argv[1:2] == ["retry-failed"]:
    sys.exit(retry_failed_steps(sys.argv[2:]))
main("followup", create_runtime)
