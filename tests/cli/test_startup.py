"""`hub trace` must answer at once, so the command line loads the heavy parts only in the commands that need
them. Checked by what a fresh interpreter has imported, not by timing (a busy machine would make that flaky)."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "sqlmodel", "aiokafka", "faststream", "fastapi", "alembic", "hub_shared.db", "hub_shared.events",
         "hub_shared.auth", "hub_shared.consumer", "hub_shared.messaging", "hub_shared.deadletters", "hub_shared.dlq_replay")

RUN_AND_REPORT = """
import json, sys
from hub_cli.main import app
try:
    app(sys.argv[1:], prog_name="hub")
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)), file=sys.stderr)
"""


def loaded_by(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy modules a fresh `hub ARGS` imported."""
    run = subprocess.run([sys.executable, "-c", RUN_AND_REPORT.format(heavy=HEAVY), *args], capture_output=True, text=True,
                         timeout=60, env=env)
    return json.loads(run.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["trace", "--help"], ["dlq", "list", "--help"]])
def test_help_loads_none_of_the_heavy_modules(args) -> None:
    assert loaded_by(*args) == []


def test_a_trace_mints_its_token_and_asks_reporting_without_the_web_stack_or_the_database() -> None:
    from hub_cli.stack import free_port

    env = os.environ | {"HUB_REPORTING_URL": f"http://127.0.0.1:{free_port()}", "HUB_ENVIRONMENT": "development"}
    env.pop("HUB_TOKEN", None)
    assert loaded_by("trace", "ABC123", env=env) == []
