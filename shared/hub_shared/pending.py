"""Rows added to a session as plain column values and written as one INSERT per table, when the session would have
flushed them as objects: before its next statement, at a flush and at commit.

For rows nothing in the transaction reads back as objects (outbox rows, timers, history steps), an ORM object costs
more than the write: building the model instance and its state, then the unit of work sorting it into an INSERT.
`add_row` keeps only the values; the session writes each table's rows in one `executemany`, in the order added.
Sessions from `hub_shared.db.make_sessions` do this; any other session gets the row as an ORM object, as before.
A row written this way is not in the session's identity map: read it back with a query, not `session.get`.
"""

from collections.abc import Callable
from functools import cache
from itertools import groupby
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import MetaData, Table, event, insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import wakeup

PENDING = "hub.pending_rows"
_INSTALLED = "_hub_writes_pending_rows"


def install(session_class: type[Session]) -> None:
    """Make sessions of `session_class` write pending rows (once per class)."""
    if session_class.__dict__.get(_INSTALLED):
        return
    setattr(session_class, _INSTALLED, True)
    event.listen(session_class, "do_orm_execute", _before_statement)
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "before_commit", write)
    event.listen(session_class, "after_rollback", _drop)


def add_row(session: AsyncSession | Session, model: type[SQLModel], row: dict[str, Any]) -> None:
    """Insert `row` (column values; the table's defaults fill the rest) within `session`'s transaction."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if not getattr(type(sync), _INSTALLED, False):
        sync.add(model(**row))
        return
    sync._autobegin_t()  # as `Session.add` does: the rows belong to a transaction, so a rollback drops them
    sync.info.setdefault(PENDING, []).append((model.__table__, _with_defaults(model, row)))


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The model's defaults by column: the plain ones, and the ones a factory makes anew for each row."""
    plain, made, columns = {}, {}, model.__table__.columns
    for name, field in model.model_fields.items():
        if name not in columns or (field.default is None and columns[name].primary_key):  # the database numbers it
            continue
        if field.default_factory is not None:
            made[name] = field.default_factory
        elif field.default is not PydanticUndefined:
            plain[name] = field.default
    return plain, made


def _with_defaults(model: type[SQLModel], row: dict[str, Any]) -> dict[str, Any]:
    """`row` with the model's defaults where it gives no value, as building the model object would have filled them."""
    plain, made = _defaults(model)
    return {**plain, **{name: factory() for name, factory in made.items() if name not in row}, **row}


def write(session: Session) -> None:
    """Write the pending rows now: each table's rows in the order added, in one statement per table (per set of
    columns), tables in the order their foreign keys need (a referenced table before the tables referring to it).
    A consumer's batch adds its events' rows case by case (a referral, then an outbox row, then the next case's
    referral): written as added, that was one statement a row."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    connection = session.connection()
    ordered = sorted(pending, key=lambda item: _rank(item[0]))  # stable: a table's rows keep their order
    for (table, _columns), rows in groupby(ordered, key=lambda item: (item[0], item[1].keys())):
        connection.execute(insert(table), [values for _, values in rows])
        wakeup.note(session, table.name, "insert")  # commit watchers (the relay's alarm) see the write


def _rank(table: Table) -> int:
    return _ranks(table.metadata, len(table.metadata.tables))[table]


@cache
def _ranks(metadata: MetaData, _tables: int) -> dict[Table, int]:
    """Each table's place in `metadata`'s dependency order (referenced tables first), made again when tables are added."""
    return {table: rank for rank, table in enumerate(metadata.sorted_tables)}


def _before_statement(state: ORMExecuteState) -> None:
    write(state.session)


def _before_flush(session: Session, _context, _instances) -> None:
    write(session)


def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)
