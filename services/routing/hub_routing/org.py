"""The organisation tree, changeable while routing runs.

Changes travel on `hub.org.v1` (`OrgUnitUpserted`, `OrgUnitRemoved`): a province's or agency's own system
publishes them, and so does routing's API (`hub_routing.org_api`), which only checks and stages them. This
consumer (group `routing-org`) checks each against the tree in force and applies it to `routing_org_unit`
in the same transaction as its inbox entry; a refused change is logged with its reason and skipped, and
the tree stays as it was. Once that transaction commits, the live `OrgTree` takes the new contents. One
replica of a group consumes each change, so every replica also watches the tree's revision in
`routing_org_tree` and reloads from the table when another one changed it.

On first start the table is filled from the reference seed and `seed_units.yaml`.
"""

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_routing import org_api
from hub_routing.tree import SEEDED_BY, OrgTree, seed_tree
from hub_routing.units import InvalidChange, OrgUnit, UnitKind, check_removal, resolve
from hub_shared import db
from hub_shared.consumer import Subscription
from hub_shared.envelope import Envelope
from hub_shared.events import OrgUnitRemoved, OrgUnitUpserted, UnitContact
from hub_shared.reference import org_seed
from hub_shared.service import Runtime
from hub_shared.topics import ORG

log = logging.getLogger(__name__)
GROUP = "routing-org"
_WORK = "hub_routing.org.work"
_installed: "weakref.WeakKeyDictionary[Runtime, OrgTree]" = weakref.WeakKeyDictionary()


class UnitRow(SQLModel, table=True):
    """One unit of the tree in force, as last changed."""

    __tablename__ = "routing_org_unit"

    id: str = Field(primary_key=True, max_length=200)
    parent_id: str | None = Field(default=None, max_length=200)
    name_fa: str = Field(max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    kind: str = Field(max_length=64)
    agency: str | None = Field(default=None, max_length=64)
    province: str | None = Field(default=None, max_length=64)
    county: str | None = Field(default=None, max_length=64)
    calendar: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)
    version: int = Field(description="1 when created, one more with every change")
    updated_at: datetime
    updated_by: str = Field(max_length=128)


class TreeRow(SQLModel, table=True):
    """The tree's revision (one row): one more with every applied change."""

    __tablename__ = "routing_org_tree"

    id: int = Field(default=1, primary_key=True)
    revision: int
    seeded_at: datetime
    changed_at: datetime


def install(runtime: Runtime, poll_seconds: float = 5.0) -> OrgTree:
    """Wire the tree into `runtime` (before `runtime.app()`): the `routing-org` consumer, the HTTP API, the
    publishers and the watcher. Returns the live tree; a second call returns the same one."""
    if (tree := _installed.get(runtime)) is not None:
        return tree
    keeper = OrgKeeper(runtime, poll_seconds)
    runtime.add_subscription(Subscription(topic=ORG.name, group=GROUP, handlers={
        OrgUnitUpserted.event_type: keeper.on_upserted, OrgUnitRemoved.event_type: keeper.on_removed}))
    runtime.publisher(ORG.name, OrgUnitUpserted)
    runtime.publisher(ORG.name, OrgUnitRemoved)
    runtime.routers.append(org_api.router(runtime, keeper.tree))
    runtime.background.append(keeper.watch)
    _installed[runtime] = keeper.tree
    return keeper.tree


@dataclass
class _Work:
    """The tree as one consumer transaction changes it; it becomes the live tree when that transaction commits."""

    tree: OrgTree
    state: TreeRow

    def changed(self) -> None:
        self.state.revision += 1
        self.state.changed_at = datetime.now(UTC)
        self.tree.revision = self.state.revision


class OrgKeeper:
    def __init__(self, runtime: Runtime, poll_seconds: float) -> None:
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.tree = _load_now(runtime.settings.effective_database_url) or seed_tree()
        self._on_commit = self._committed  # one bound method, so it is registered once per session

    async def on_upserted(self, session: AsyncSession, envelope: Envelope) -> None:
        change: OrgUnitUpserted = envelope.data
        work = await self._working_copy(session)
        try:
            unit = resolve(work.tree, change, org_seed())
        except InvalidChange as refusal:
            _refused(envelope, refusal)
            return
        if work.tree.unit(unit.id) == unit:
            log.info("organisation unit %s unchanged by %s", unit.id, change.changed_by)
            return
        row = await session.get(UnitRow, unit.id)
        if row is None:
            session.add(UnitRow(**_columns(unit), version=1, updated_at=datetime.now(UTC), updated_by=change.changed_by))
        else:
            row.sqlmodel_update({**_columns(unit), "version": row.version + 1, "updated_at": datetime.now(UTC),
                                 "updated_by": change.changed_by})
        work.tree.put(unit)
        work.changed()
        log.info("organisation unit %s %s by %s", unit.id, "created" if row is None else "replaced", change.changed_by)

    async def on_removed(self, session: AsyncSession, envelope: Envelope) -> None:
        change: OrgUnitRemoved = envelope.data
        work = await self._working_copy(session)
        try:
            check_removal(work.tree, change.unit_id)
        except InvalidChange as refusal:
            _refused(envelope, refusal)
            return
        await session.delete(await session.get(UnitRow, change.unit_id))
        work.tree.drop(change.unit_id)
        work.changed()
        log.info("organisation unit %s removed by %s", change.unit_id, change.changed_by)

    async def watch(self) -> None:
        """Background job: fill the table on first start, then follow changes other replicas apply."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the database may be away for a while; the tree in force stays
                log.warning("organisation tree not refreshed (%s: %s); retrying", type(exc).__name__, exc)
            await asyncio.sleep(self.poll_seconds)

    async def refresh(self) -> None:
        seen = self.tree.revision
        async with self.runtime.sessions() as session, session.begin():
            state = await session.get(TreeRow, 1)
            if state is not None and state.revision == seen:
                return
            tree = await _load(session, state.revision) if state is not None else (await _seed(session)).tree
        if self.tree.revision == seen:  # else this process applied a newer change meanwhile
            self._take(tree)

    async def _working_copy(self, session: AsyncSession) -> _Work:
        """The tree in force for this transaction, read under a lock on the revision row, so concurrent
        changes on other replicas are checked one after the other."""
        if (work := session.info.get(_WORK)) is not None:
            return work
        state = (await session.exec(select(TreeRow).where(TreeRow.id == 1).with_for_update())).first()
        if state is None:
            work = await _seed(session)
        else:
            work = _Work(self.tree.copy() if state.revision == self.tree.revision else await _load(session, state.revision), state)
        session.info[_WORK] = work
        if not event.contains(session.sync_session, "after_commit", self._on_commit):
            event.listen(session.sync_session, "after_commit", self._on_commit)
            event.listen(session.sync_session, "after_rollback", _forget)
        return work

    def _committed(self, session: Session) -> None:
        if (work := session.info.pop(_WORK, None)) is not None and work.tree.revision != self.tree.revision:
            self._take(work.tree)

    def _take(self, tree: OrgTree) -> None:
        self.tree.replace_with(tree)
        log.info("organisation tree at revision %d: %d units", tree.revision, len(tree))


def _forget(session: Session) -> None:
    session.info.pop(_WORK, None)


def _refused(envelope: Envelope, refusal: InvalidChange) -> None:
    log.warning("organisation change %s for %s from %s refused, tree unchanged: %s", envelope.type, envelope.subject,
                envelope.source, refusal)


async def _seed(session: AsyncSession) -> _Work:
    """Fill the empty table. A replica seeding at the same moment makes one of the two commits fail; that
    one is retried and finds the table filled."""
    tree, now = seed_tree(), datetime.now(UTC)
    for unit in tree:
        session.add(UnitRow(**_columns(unit), version=1, updated_at=now, updated_by=SEEDED_BY))
    state = TreeRow(id=1, revision=1, seeded_at=now, changed_at=now)
    session.add(state)
    tree.revision = 1
    log.info("organisation tree seeded with %d units", len(tree))
    return _Work(tree, state)


async def _load(session: AsyncSession, revision: int) -> OrgTree:
    return OrgTree.of(_units((await session.exec(select(UnitRow))).all()), revision)


def _load_now(url: str) -> OrgTree | None:
    """The tree the database holds, read while the service is wired (before its event loop serves), so a
    restarted routing never routes on the seed while the table holds changes. None before the first start."""
    engine = create_engine(db.sync_url(url), **({} if db.is_sqlite(url) else {"connect_args": {"connect_timeout": 5}}))
    try:
        if not inspect(engine).has_table(TreeRow.__tablename__):
            return None
        with Session(engine) as session:
            state = session.get(TreeRow, 1)
            return OrgTree.of(_units(session.exec(select(UnitRow)).all()), state.revision) if state else None
    except SQLAlchemyError as exc:
        log.warning("organisation tree not read at start (%s); the watcher loads it", type(exc).__name__)
        return None
    finally:
        engine.dispose()


def _units(rows: list[UnitRow]) -> list[OrgUnit]:
    units = []
    for row in rows:
        if row.kind not in UnitKind.__members__:
            log.warning("organisation unit %s of unknown kind %r ignored", row.id, row.kind)
            continue
        units.append(OrgUnit(id=row.id, name_fa=row.name_fa, name_en=row.name_en, kind=UnitKind(row.kind), parent_id=row.parent_id,
                             agency=row.agency, province=row.province, county=row.county, calendar=row.calendar,
                             contact=UnitContact(phone=row.phone, email=row.email, address=row.address)))
    return units


def _columns(unit: OrgUnit) -> dict:
    return {"id": unit.id, "parent_id": unit.parent_id, "name_fa": unit.name_fa, "name_en": unit.name_en, "kind": unit.kind.value,
            "agency": unit.agency,
            "province": unit.province, "county": unit.county, "calendar": unit.calendar, "phone": unit.contact.phone,
            "email": unit.contact.email, "address": unit.contact.address}
