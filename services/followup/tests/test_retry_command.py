"""`python -m hub_followup retry-failed CASE_ID`, as an operator runs it against the service's database."""

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import hub_followup
from sqlalchemy import create_engine
from sqlmodel import Session, select

from hub_followup.models import Timer, TimerStatus
from hub_shared.db import migrate


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HUB_DATA_DIR": str(data_dir), "HUB_DATABASE_URL": "", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "hub_followup", "retry-failed", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_case_s_failed_steps_are_due_again_and_other_cases_untouched(tmp_path) -> None:
    migrate(f"sqlite+aiosqlite:///{tmp_path}/followup.db", Path(hub_followup.__file__).parent / "migrations")
    broken, other = uuid.uuid4(), uuid.uuid4()
    with Session(create_engine(f"sqlite:///{tmp_path}/followup.db")) as session:
        for case_id, step in ((broken, "follow-up-1"), (broken, "follow-up-2"), (other, "follow-up-1")):
            session.add(Timer(case_id=case_id, tracking_code="12345678903", unit_id="labour/fars/performance-office", step=step,
                              due_at=datetime(2026, 11, 1, tzinfo=UTC), status=TimerStatus.failed.value, attempts=5,
                              last_error="KeyError: 'labour'", created_at=datetime(2026, 10, 1, tzinfo=UTC)))
        session.commit()

    done = run(tmp_path, str(broken))
    assert done.returncode == 0, done.stderr
    assert f"2 failed step(s) of case {broken} are due again" in done.stdout
    with Session(create_engine(f"sqlite:///{tmp_path}/followup.db")) as session:
        timers = session.exec(select(Timer)).all()
    assert {(t.case_id, t.status, t.attempts) for t in timers} == {
        (broken, "pending", 0), (other, "failed", 5)}, "only the named case's steps are retried, with fresh attempts"
    assert run(tmp_path, str(broken)).stdout.strip() == f"case {broken} has no failed steps"


def test_a_malformed_case_id_is_refused_with_the_usage(tmp_path) -> None:
    for args in ((), ("not-a-uuid",), (str(uuid.uuid4()), "extra")):
        refused = run(tmp_path, *args)
        assert refused.returncode == 2 and "usage: python -m hub_followup retry-failed CASE_ID" in refused.stderr
