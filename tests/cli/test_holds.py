"""`hub holds list` and `hub holds release` on a service's SQLite database, as an operator runs them."""

from datetime import UTC, datetime
from pathlib import Path

import hub_routing
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from hub_shared.consumer import HeldCase
from hub_shared.db import migrate
from tests.cli.operator import hub

SINCE = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """routing's database: its group holds case A behind a registration that failed; a test group holds case B."""
    migrate(f"sqlite+aiosqlite:///{tmp_path}/routing.db", Path(hub_routing.__file__).parent / "migrations")
    with Session(create_engine(f"sqlite:///{tmp_path}/routing.db")) as session:
        session.add_all([
            HeldCase(consumer="routing", key="case-a", first_event_id="event-1", held_since=SINCE, reason="KeyError: 'labour'"),
            HeldCase(consumer="other", key="case-b", first_event_id="event-2", held_since=SINCE, reason="ValueError: bad"),
        ])
        session.commit()
    return tmp_path


def held(data_dir: Path) -> set[tuple[str, str]]:
    with Session(create_engine(f"sqlite:///{data_dir}/routing.db")) as session:
        return {(row.consumer, row.key) for row in session.exec(select(HeldCase)).all()}


def test_list_shows_each_held_case_and_what_it_waits_for(data_dir) -> None:
    result = hub("holds", "list", "--service", "routing", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.stdout
    assert "routing: 2 held cases" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if "case-a" in line]
    assert "routing" in line and "event-1" in line and "KeyError" in line and "2026-11-24 10:30:00" in line
    only = hub("holds", "list", "--service", "routing", "--group", "routing", "--data-dir", str(data_dir))
    assert "case-a" in only.stdout and "case-b" not in only.stdout


def test_release_lets_one_case_go_and_keeps_the_rest(data_dir) -> None:
    result = hub("holds", "release", "--service", "routing", "--group", "routing", "--key", "case-a", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.stdout
    assert "routing released case-a" in result.stdout
    assert held(data_dir) == {("other", "case-b")}
    again = hub("holds", "release", "--service", "routing", "--group", "routing", "--all", "--data-dir", str(data_dir))
    assert again.exit_code == 0 and "holds no cases" in again.stdout


@pytest.mark.parametrize("args,message", [
    (["--group", "routing"], "give --key KEY (repeatable) or --all"),
    (["--group", "routing", "--key", "case-a", "--all"], "not both"),
    (["--group", "routing", "--key", "case-b"], "not held by routing in routing: case-b"),
])
def test_a_release_that_cannot_be_meant_changes_nothing(data_dir, args, message) -> None:
    result = hub("holds", "release", "--service", "routing", *args, "--data-dir", str(data_dir))
    assert result.exit_code == 2 and message in result.stdout, result.stdout
    assert held(data_dir) == {("routing", "case-a"), ("other", "case-b")}


def test_an_unknown_service_is_named(data_dir) -> None:
    result = hub("holds", "list", "--service", "billing", "--data-dir", str(data_dir))
    assert result.exit_code == 2 and "unknown service 'billing'" in result.stdout
