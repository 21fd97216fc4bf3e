"""`hub outbox parked` and `hub outbox release` on a service's SQLite database, as an operator runs them."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import hub_intake
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from hub_shared.db import migrate
from hub_shared.messaging import OutboxMessage
from tests.cli.operator import hub

PARKED_AT = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """intake's database with case A's registration parked (too large), its routing held behind it,
    and case B's registration published."""
    migrate(f"sqlite+aiosqlite:///{tmp_path}/intake.db", Path(hub_intake.__file__).parent / "migrations")
    with Session(create_engine(f"sqlite:///{tmp_path}/intake.db")) as session:
        session.add_all([
            row("case-a", "ir.hub.case.registered.v1", parked="MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError"),
            row("case-b", "ir.hub.case.registered.v1", published=True),
            row("case-a", "ir.hub.case.routed.v1", parked="held behind row 1 (same topic and key), which the broker refused"),
        ])
        session.commit()
    return tmp_path


def row(key: str, event_type: str, parked: str = "", published: bool = False) -> OutboxMessage:
    return OutboxMessage(event_id=str(uuid.uuid4()), topic="hub.cases.v1", key=key, value=b'{"secret": "payload"}',
                         headers={"ce_type": event_type}, created_at=PARKED_AT, published_at=PARKED_AT if published else None,
                         parked_at=PARKED_AT if parked else None, last_error=parked or None)


def states(data_dir: Path) -> list[tuple[int, bool, str | None]]:
    with Session(create_engine(f"sqlite:///{data_dir}/intake.db")) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    return [(r.id, r.parked_at is not None, r.last_error) for r in rows]


def test_parked_lists_what_waits_and_why(data_dir) -> None:
    result = hub("outbox", "parked", "--service", "intake", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.stdout
    assert "intake: 2 parked outbox rows" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "case-" in line]
    assert len(lines) == 2 and all("case-a" in line for line in lines), "case B was published: not listed"
    assert "ir.hub.case.registered.v1" in lines[0] and "MessageSizeTooLargeError" in lines[0] and "2026-11-24 10:30:00" in lines[0]
    assert "ir.hub.case.routed.v1" in lines[1] and "held behind row 1" in lines[1]
    assert "1405/09/03 14:00" in result.stdout, "the time in Tehran, Jalali"
    assert "hub outbox release --service intake --id N" in result.stdout
    assert "payload" not in result.stdout


def test_release_by_id_lets_the_rows_go_and_names_rows_still_held_behind_them(data_dir) -> None:
    result = hub("outbox", "release", "--service", "intake", "--data-dir", str(data_dir), "--id", "1")
    assert result.exit_code == 0, result.stdout
    assert "intake: released row 1; the service's relay publishes released rows in id order" in result.stdout
    assert "still parked behind them (same topic and key): row 3; release those too" in result.stdout
    assert states(data_dir) == [(1, False, None), (2, False, None), (3, True, "held behind row 1 (same topic and key), which the broker refused")]

    result = hub("outbox", "release", "--service", "intake", "--data-dir", str(data_dir), "--id", "3")
    assert result.exit_code == 0 and "released row 3" in result.stdout and "still parked" not in result.stdout
    assert hub("outbox", "parked", "--service", "intake", "--data-dir", str(data_dir)).stdout.strip() == "intake: no parked outbox rows"


def test_release_all(data_dir) -> None:
    result = hub("outbox", "release", "--service", "intake", "--data-dir", str(data_dir), "--all")
    assert result.exit_code == 0 and "released rows 1, 3" in result.stdout, result.stdout
    assert [parked for _, parked, _ in states(data_dir)] == [False, False, False]
    again = hub("outbox", "release", "--service", "intake", "--data-dir", str(data_dir), "--all")
    assert again.exit_code == 0 and "nothing to release" in again.stdout


def test_the_database_comes_from_the_template_as_for_hub_up(data_dir) -> None:
    (data_dir / "intake.db").rename(data_dir / "hub_intake.db")
    result = hub("outbox", "parked", "--service", "intake", template=f"sqlite+aiosqlite:///{data_dir}/hub_{{service}}.db")
    assert result.exit_code == 0 and "intake: 2 parked outbox rows" in result.stdout, result.stdout


@pytest.mark.parametrize("args,code,reason", [
    (["release", "--service", "intake"], 2, "give --id N (repeatable) or --all"),
    (["release", "--service", "intake", "--id", "1", "--all"], 2, "not both"),
    (["release", "--service", "intake", "--id", "1", "--id", "2", "--id", "99"], 2, "not parked in intake's outbox: 2, 99"),
    (["parked", "--service", "intakes"], 2, "unknown service 'intakes'; use one of intake, routing, followup, reporting, samad-gateway"),
    (["parked", "--service", "routing"], 2, "no database for routing at"),
])
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(data_dir, args, code, reason) -> None:
    before = states(data_dir)
    result = hub("outbox", *args, "--data-dir", str(data_dir))
    assert result.exit_code == code and reason in " ".join(result.stdout.split()), result.stdout
    assert states(data_dir) == before


def test_a_row_id_must_be_positive(data_dir) -> None:
    result = hub("outbox", "release", "--service", "intake", "--data-dir", str(data_dir), "--id", "0")
    assert result.exit_code == 2 and "Invalid value for '--id'" in result.output and "greater than or equal to 1" in result.output


def test_a_database_not_yet_migrated_says_so(tmp_path) -> None:
    create_engine(f"sqlite:///{tmp_path}/reporting.db").connect().close()
    result = hub("outbox", "parked", "--service", "reporting", "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "cannot read reporting's database" in result.stdout and "migrated" in result.stdout, result.stdout
