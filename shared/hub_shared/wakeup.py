"""What wakes the background loops (outbox relay, timers, senders): a commit that gave them work, a time
they asked for, or a slow safety poll. An idle hub then sleeps instead of asking its database every
fraction of a second whether anything happened.

`CommitWatch` sees every write made through a service's sessions: rows added, changed or deleted through
the ORM, and `insert`/`update`/`delete` statements run through a session. After the transaction commits
(never before, never after a rollback), it calls back whoever watches a table written. Writes made by
another process (another replica, a `hub` command) are not seen: each replica wakes its own loops for
its own commits, and the safety poll finds the rest.

`Alarm` is the loop's side: `ring` from a callback, `sleep` until rung or until the time is up. A loop
clears its alarm *before* it looks for work, so a commit that rings during the look is not lost: it
either was visible to the look or wakes the next sleep at once.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel.ext.asyncio.session import AsyncSession

_WRITTEN = "hub_tables_written"
WRITES = frozenset({"insert", "update", "delete"})
# How long the loops nobody waits on let commits gather after one rang (`Alarm`). Without it, at 10 cases/s offered,
# the intake made 1.5 passes a case over the citizens' messages (five statements each) and the follow-up 0.8 over its
# timers (two), each woken by one commit.
SETTLE_SECONDS = 0.2


class Alarm:
    """`settle_seconds`: once rung, the sleeper waits that much longer, so the commits that follow within it are
    handled by the same pass instead of one pass each (for loops whose work is not waited on by anyone: messages
    to citizens, deadline timers, status deliveries to SAMAD)."""

    def __init__(self, settle_seconds: float = 0.0) -> None:
        self._rung = asyncio.Event()
        self._settle = settle_seconds

    def ring(self) -> None:
        self._rung.set()

    def clear(self) -> None:
        self._rung.clear()

    async def sleep(self, seconds: float) -> bool:
        """Wait until rung or `seconds` have passed; whether it was rung. Rung before: returns at once (after the
        settling wait, if any)."""
        try:
            await asyncio.wait_for(self._rung.wait(), max(0.0, seconds))
        except TimeoutError:
            return False
        if self._settle:
            await asyncio.sleep(self._settle)
        return True


class CommitWatch:
    """Calls back after a commit that wrote a watched table. Give `session_class` to the session factory
    (`hub_shared.db.make_sessions`); each watch has its own, so two services in one process (tests) keep
    their callbacks apart."""

    def __init__(self) -> None:
        self.session_class: type[Session] = type("WatchedSession", (AsyncSession.sync_session_class,), {})
        self._callbacks: dict[tuple[str, str], list[Callable[[], None]]] = defaultdict(list)
        event.listen(self.session_class, "after_flush", _flushed)
        event.listen(self.session_class, "do_orm_execute", _executed)
        event.listen(self.session_class, "after_commit", self._committed)
        event.listen(self.session_class, "after_rollback", _forget)

    def on_commit(self, table: str, callback: Callable[[], None], writes: Iterable[str] = WRITES) -> None:
        """Call `callback` after each commit that wrote `table` in one of `writes` (insert, update, delete)."""
        for kind in writes:
            if kind not in WRITES:
                raise ValueError(f"unknown write {kind!r}; use {', '.join(sorted(WRITES))}")
            self._callbacks[(table, kind)].append(callback)

    def _committed(self, session: Session) -> None:
        written = session.info.pop(_WRITTEN, set())
        called: set[Callable[[], None]] = set()
        for key in written:
            for callback in self._callbacks.get(key, ()):
                if callback not in called:
                    called.add(callback)
                    callback()


def note(session: Session, table: str, kind: str) -> None:
    session.info.setdefault(_WRITTEN, set()).add((table, kind))


def _flushed(session: Session, _context) -> None:
    for objects, kind in ((session.new, "insert"), (session.dirty, "update"), (session.deleted, "delete")):
        for instance in objects:
            table = getattr(instance, "__tablename__", None)
            if table is not None and (kind != "update" or session.is_modified(instance)):
                note(session, table, kind)


def _executed(state: ORMExecuteState) -> None:
    kind = "insert" if state.is_insert else "update" if state.is_update else "delete" if state.is_delete else None
    table = getattr(state.statement, "table", None)
    if kind is not None and table is not None:
        note(state.session, table.name, kind)


def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
