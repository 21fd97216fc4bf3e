"""Rows added as plain values (`hub_shared.pending.add_row`) are written when the session would have flushed objects:
before its next statement, at commit, in the order added, with the model's defaults; never after a rollback. A
commit that wrote them wakes the watchers of their table, as one that added objects does."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import db
from hub_shared.messaging import OutboxMessage
from hub_shared.pending import add_row
from hub_shared.wakeup import CommitWatch


class Step(SQLModel, table=True):
    __tablename__ = "test_pending_step"

    id: int | None = Field(default=None, primary_key=True)
    case: str = Field(max_length=16)
    kind: str = Field(default="note", max_length=16)
    label: str = Field(default_factory=lambda: "made", max_length=16)
    done: bool = False


@pytest.fixture
async def engine(tmp_path):
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path}/pending.db")
    async with engine.begin() as connection:
        await connection.run_sync(Step.__table__.create)
        await connection.run_sync(OutboxMessage.__table__.create)
    yield engine
    await engine.dispose()


def outbox_row(key: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "topic": "hub.cases.v1", "key": key, "value": b"v", "headers": {},
            "created_at": datetime.now(UTC)}


async def test_rows_are_written_in_order_before_the_next_query_with_the_models_defaults(engine) -> None:
    sessions = db.make_sessions(engine)
    async with sessions() as session, session.begin():
        for case in ("a", "b", "c"):
            add_row(session, Step, {"case": case})
        rows = (await session.exec(select(Step).order_by(col(Step.id)))).all()
        assert [(row.case, row.kind, row.label, row.done) for row in rows] == [
            ("a", "note", "made", False), ("b", "note", "made", False), ("c", "note", "made", False)]
        assert [row.id for row in rows] == sorted(row.id for row in rows) and rows[0].id is not None


async def test_an_update_in_the_same_transaction_sees_the_rows_added_before_it(engine) -> None:
    sessions = db.make_sessions(engine)
    async with sessions() as session, session.begin():
        add_row(session, Step, {"case": "a"})
        await session.execute(update(Step).where(col(Step.case) == "a").values(done=True))
    async with sessions() as session:
        assert (await session.exec(select(Step.done))).all() == [True]


async def test_rows_added_last_are_written_at_commit_and_none_after_a_rollback(engine) -> None:
    sessions = db.make_sessions(engine)
    async with sessions() as session:
        add_row(session, Step, {"case": "kept"})
        await session.commit()
        add_row(session, Step, {"case": "dropped"})
        await session.rollback()
        await session.commit()
    async with sessions() as session:
        assert (await session.exec(select(Step.case))).all() == ["kept"]


async def test_rows_of_different_columns_keep_their_order(engine) -> None:
    sessions = db.make_sessions(engine)
    async with sessions() as session, session.begin():
        add_row(session, Step, {"case": "a"})
        add_row(session, Step, {"case": "b", "kind": "answer"})
        add_row(session, Step, {"case": "c"})
    async with sessions() as session:
        assert (await session.exec(select(Step.case, Step.kind).order_by(col(Step.id)))).all() == [
            ("a", "note"), ("b", "answer"), ("c", "note")]


async def test_a_commit_that_wrote_rows_wakes_the_watchers_of_their_table(engine) -> None:
    watch = CommitWatch()
    woken: list[str] = []
    watch.on_commit("outbox", lambda: woken.append("outbox"), writes={"insert"})
    sessions = db.make_sessions(engine, watch.session_class)
    async with sessions() as session, session.begin():
        add_row(session, OutboxMessage, outbox_row("case-a"))
        assert woken == []
    assert woken == ["outbox"]
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(OutboxMessage))).one() == 1


async def test_a_session_not_made_by_the_hub_gets_an_object_as_before(engine) -> None:
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with sessions() as session, session.begin():
        add_row(session, Step, {"case": "a"})
        assert [step.case for step in session.new] == ["a"]
    async with sessions() as session:
        assert (await session.exec(select(Step.case))).all() == ["a"]


class Note(SQLModel, table=True):
    """Refers to a step: its rows must be written after the step they name."""

    __tablename__ = "test_pending_note"

    id: int | None = Field(default=None, primary_key=True)
    step_id: int = Field(foreign_key="test_pending_step.id")
    text: str = Field(max_length=16)


async def test_rows_added_case_by_case_are_written_one_statement_a_table_each_in_its_order(engine) -> None:
    """A consumer's batch adds each case's rows in turn (a step, an outbox row, the next case's step, …): one INSERT per
    table, each table's rows in the order added, and a table another refers to written first."""
    async with engine.begin() as connection:
        await connection.run_sync(Note.__table__.create)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2].split("(")[0].strip()))
    sessions = db.make_sessions(engine)
    async with sessions() as session, session.begin():
        for case, step_id in (("a", 1), ("b", 2), ("c", 3)):
            add_row(session, Note, {"step_id": step_id, "text": f"on {case}"})  # before the step it names
            add_row(session, Step, {"id": step_id, "case": case})
            add_row(session, OutboxMessage, outbox_row(case))
    inserts = [statement.removeprefix("INSERT INTO ") for statement in statements if statement.startswith("INSERT")]
    assert len(inserts) == 3 and set(inserts[:2]) == {"test_pending_step", "outbox"} and inserts[2] == "test_pending_note"
    async with sessions() as session:
        assert (await session.exec(select(Step.case).order_by(col(Step.id)))).all() == ["a", "b", "c"]
        assert (await session.exec(select(OutboxMessage.key).order_by(col(OutboxMessage.id)))).all() == ["a", "b", "c"]
        assert (await session.exec(select(Note.step_id, Note.text).order_by(col(Note.id)))).all() == [
            (1, "on a"), (2, "on b"), (3, "on c")]


async def test_objects_added_together_are_one_insert_and_each_gets_its_own_id(engine) -> None:
    """On SQLite too: SQLAlchemy had written a row a statement to match each returned id to its object."""
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2].split("(")[0].strip()))
    sessions = db.make_sessions(engine)
    for batch in ("first", "second"):
        async with sessions() as session, session.begin():
            steps = [Step(case=f"{batch}-{n}") for n in range(25)]
            session.add_all(steps)
        async with sessions() as session:
            stored = dict((await session.exec(select(Step.id, Step.case))).all())
        assert [stored[step.id] for step in steps] == [step.case for step in steps]
    assert statements.count("INSERT INTO test_pending_step") == 2
