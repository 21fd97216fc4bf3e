"""The organisation tree changed at run time, through the API and on the bus, on SQLite in-process."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from sqlmodel import select

from hub_routing.app import create_runtime
from hub_routing.org import GROUP, OrgKeeper, UnitRow, install
from hub_routing.tree import SEED_UNITS, OrgTree, seed_tree
from hub_routing.units import OrgUnit, UnitKind
from hub_shared.auth import Role
from hub_shared.envelope import wrap
from hub_shared.events import OrgUnitRemoved, OrgUnitUpserted, Target
from hub_shared.messaging import InboxEntry
from hub_shared.reference import org_seed
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

from .test_routing_rules import without_rules

MIGRATIONS = Path(__file__).resolve().parents[1] / "hub_routing" / "migrations"
KASHAN = Target(agency="labour", province="isfahan", county="kashan")
KASHAN_SECURITY = "labour/isfahan/kashan/security-office"
NATIONAL = bearer(Role.national_supervisor)


def upserted(unit_id: str = KASHAN_SECURITY, parent_id: str | None = "labour/isfahan/kashan", kind: str = "security_office",
             **fields) -> OrgUnitUpserted:
    return OrgUnitUpserted(unit_id=unit_id, parent_id=parent_id, kind=kind, name_fa=fields.pop("name_fa", "حراست اداره کاشان"),
                           changed_by="isfahan-province-system", changed_at=datetime.now(UTC), **fields)


def body(change: OrgUnitUpserted) -> dict:
    return change.model_dump(mode="json", exclude={"unit_id", "changed_by", "changed_at"})


@pytest.fixture
async def routing(tmp_path):
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    tree = install(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing") as client:
        yield runtime, tree, client
    await runtime.engine.dispose()


async def rows(runtime) -> dict[str, UnitRow]:
    async with runtime.sessions() as session:
        return {row.id: row for row in (await session.exec(select(UnitRow))).all()}


async def test_a_unit_put_through_the_api_is_published_then_applied_by_the_consumer(routing) -> None:
    runtime, tree, client = routing
    response = await client.put(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL,
                                json=body(upserted(contact={"phone": "۰۳۱-۵۵۵۵۰۰۰۰"})))
    assert response.status_code == 202, response.text
    assert response.json()["unit"]["province"] == "isfahan" and response.json()["unit"]["county"] == "kashan"
    [event] = await staged(runtime)
    assert isinstance(event.data, OrgUnitUpserted) and event.subject == KASHAN_SECURITY and event.data.changed_by == "tester"
    assert tree.unit(KASHAN_SECURITY) is None  # applied by the consumer, not by the request

    await deliver(runtime, event)
    assert tree.unit(KASHAN_SECURITY).contact.phone == "03155550000"
    assert tree.nearest(KASHAN, "security_office").id == KASHAN_SECURITY
    shown = (await client.get(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL)).json()
    assert (shown["kind"], shown["parent_id"], shown["calendar"]) == ("security_office", "labour/isfahan/kashan", "iran-standard")
    listed = (await client.get("/api/v1/org/units", params={"parent": "labour/isfahan/kashan"}, headers=NATIONAL)).json()
    assert [unit["id"] for unit in listed] == ["labour/isfahan/kashan/performance-office", KASHAN_SECURITY]
    row = (await rows(runtime))[KASHAN_SECURITY]
    assert (row.version, row.updated_by) == (1, "tester")


async def test_a_units_english_name_is_kept_shown_and_given_to_the_public(routing) -> None:
    runtime, tree, client = routing
    english = "Security Office, Kashan County"
    response = await client.put(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL, json=body(upserted(name_en=english)))
    assert response.status_code == 202 and response.json()["unit"]["name_en"] == english
    [event] = await staged(runtime)
    await deliver(runtime, event)
    assert tree.unit(KASHAN_SECURITY).name_en == english and (await rows(runtime))[KASHAN_SECURITY].name_en == english
    assert (await client.get(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL)).json()["name_en"] == english
    assert (await client.get(f"/api/v1/org/places/units/{KASHAN_SECURITY}")).json()["name_en"] == english

    await deliver(runtime, upserted())  # replaced whole, without an English name
    assert tree.unit(KASHAN_SECURITY).name_en is None
    assert (await client.get(f"/api/v1/org/places/units/{KASHAN_SECURITY}")).json()["name_en"] is None


def test_a_change_without_an_english_name_is_written_as_before_the_field_existed() -> None:
    assert "name_en" not in upserted().model_dump(mode="json")
    assert upserted(name_en="Security Office").model_dump(mode="json")["name_en"] == "Security Office"
    with pytest.raises(ValueError):
        upserted(name_en="\x00x")


async def test_a_province_system_changes_its_units_on_the_bus_once_per_event(routing) -> None:
    runtime, tree, client = routing
    created = wrap(upserted(), "/isfahan/org-system")
    await deliver(runtime, created, created)
    renamed = upserted(name_fa="حراست اداره تعاون، کار و رفاه اجتماعی کاشان", calendar="iran-thursday-working")
    await deliver(runtime, renamed)
    unit = tree.unit(KASHAN_SECURITY)
    assert (unit.name_fa, unit.calendar) == (renamed.name_fa, "iran-thursday-working")
    assert (await rows(runtime))[KASHAN_SECURITY].version == 2
    assert (await client.get(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL)).json()["name_fa"] == renamed.name_fa

    await deliver(runtime, OrgUnitRemoved(unit_id=KASHAN_SECURITY, changed_by="isfahan-province-system", changed_at=datetime.now(UTC)))
    assert tree.unit(KASHAN_SECURITY) is None and KASHAN_SECURITY not in await rows(runtime)
    assert (await client.get(f"/api/v1/org/units/{KASHAN_SECURITY}", headers=NATIONAL)).status_code == 404
    assert tree.nearest(KASHAN, "security_office").id == "labour/isfahan/security-office"


REFUSED = [
    ("unknown_parent", upserted("labour/atlantis/security-office", "labour/atlantis")),
    ("id_outside_parent_path", upserted("health/isfahan/security-office", "labour/isfahan")),
    ("id_outside_parent_path", upserted("labour/isfahan/kashan/x/security-office")),
    ("cycle", upserted("labour/isfahan", "labour/isfahan/kashan", kind="provincial_directorate")),
    ("unknown_kind", upserted(kind="ministry_of_magic")),
    ("unknown_calendar", upserted(calendar="gregorian")),
    ("unknown_province", upserted("labour/atlantis", "labour", kind="provincial_directorate", province="atlantis")),
    ("unknown_county", upserted("labour/isfahan/atlantis", "labour/isfahan", kind="county_office", county="atlantis")),
    ("unknown_county", upserted("labour/isfahan/shiraz", "labour/isfahan", kind="county_office", county="shiraz")),
    ("place_mismatch", upserted(province="tehran")),
    ("place_mismatch", upserted(agency="health")),
    ("missing_parent", upserted(parent_id=None)),
    ("national_is_root", upserted(kind="national")),
    ("place_change_with_children", upserted("labour/isfahan/kashan", "labour/isfahan", kind="county_office", county="isfahan-city")),
]


@pytest.mark.parametrize("code,change", REFUSED, ids=[f"{code}-{i}" for i, (code, _) in enumerate(REFUSED)])
async def test_an_invalid_change_is_refused_and_the_tree_in_force_stays(routing, code, change, caplog) -> None:
    runtime, tree, client = routing
    await deliver(runtime, upserted("labour/isfahan/kashan/sub-unit", kind="sub_unit"))  # seeds the table
    before, table_before = list(tree), await rows(runtime)

    response = await client.put(f"/api/v1/org/units/{change.unit_id}", headers=NATIONAL, json=body(change))
    assert response.status_code == 422 and response.json()["error"]["code"] == code, response.text
    assert response.json()["error"]["message_fa"] and response.json()["error"]["message_en"]
    assert await staged(runtime) == []

    envelope = wrap(change, "/isfahan/org-system")
    with caplog.at_level(logging.WARNING, logger="hub_routing.org"):
        await deliver(runtime, envelope)
    assert list(tree) == before and await rows(runtime) == table_before
    assert any(code in record.getMessage() and "refused" in record.getMessage() for record in caplog.records)
    async with runtime.sessions() as session:  # consumed and recorded, not dead-lettered
        assert await session.get(InboxEntry, (GROUP, envelope.id)) is not None


async def test_only_a_unit_without_sub_units_can_be_removed(routing, caplog) -> None:
    runtime, tree, client = routing
    response = await client.delete("/api/v1/org/units/labour/isfahan/kashan", headers=NATIONAL)
    assert response.status_code == 409 and response.json()["error"]["code"] == "has_children"
    assert "labour/isfahan/kashan/performance-office" in response.json()["error"]["message_en"]
    assert (await client.delete("/api/v1/org/units/labour/atlantis", headers=NATIONAL)).status_code == 404
    assert await staged(runtime) == []

    before = list(tree)
    with caplog.at_level(logging.WARNING, logger="hub_routing.org"):
        await deliver(runtime, OrgUnitRemoved(unit_id="labour/isfahan", changed_by="someone", changed_at=datetime.now(UTC)))
    assert list(tree) == before and "has_children" in caplog.text

    response = await client.delete("/api/v1/org/units/labour/isfahan/kashan/performance-office", headers=NATIONAL)
    assert response.status_code == 202
    await deliver(runtime, *await staged(runtime))
    assert tree.unit("labour/isfahan/kashan/performance-office") is None and tree.children("labour/isfahan/kashan") == []


@pytest.mark.parametrize("headers,method,status", [
    ({}, "GET", 401),
    ({}, "PUT", 401),
    (bearer(Role.gateway), "GET", 403),
    (bearer(Role.expert, "labour/isfahan"), "GET", 200),
    (bearer(Role.agency_system, "health"), "GET", 200),
    (bearer(Role.expert, "labour/isfahan"), "PUT", 403),
    (bearer(Role.office_manager, "labour/isfahan"), "DELETE", 403),
    (bearer(Role.provincial_supervisor, "labour/tehran"), "PUT", 403),
    (bearer(Role.provincial_supervisor, "labour/tehran"), "DELETE", 403),
    (bearer(Role.provincial_supervisor, "labour/isfahan"), "PUT", 202),
    (bearer(Role.agency_system, "health"), "PUT", 403),
    (bearer(Role.agency_system, "labour"), "PUT", 202),
    (bearer(Role.national_supervisor), "PUT", 202),
    (bearer(Role.national_supervisor), "DELETE", 202),
])
async def test_who_may_read_and_who_may_change_the_tree(routing, headers, method, status) -> None:
    _, _, client = routing
    unit_id = "labour/isfahan/kashan/performance-office"
    change = body(upserted(unit_id, kind="performance_office")) if method == "PUT" else None
    response = await client.request(method, f"/api/v1/org/units/{unit_id}", headers=headers, json=change)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["error"]["message_fa"] and response.json()["error"]["message_en"]


def test_the_nearest_unit_of_a_kind_is_in_the_county_then_the_province_then_at_hq() -> None:
    tree = seed_tree()
    assert tree.nearest(KASHAN, "security_office").id == "labour/isfahan/security-office"
    assert tree.nearest(Target(agency="labour", province="fars", county="shiraz"), "security_office").id == "labour/security-office"
    assert tree.nearest(Target(agency="labour", province="isfahan"), "economic_deputy").id == "labour/isfahan/economic-deputy"
    assert tree.nearest(KASHAN, "performance_office").id == "labour/isfahan/kashan/performance-office"
    assert tree.nearest(Target(agency="hajj", province="fars"), "specialised_unit").id == "hajj/specialised-umrah-atabat"
    assert tree.nearest(Target(agency="health", province="fars"), "security_office") is None

    tree.put(OrgUnit(id=KASHAN_SECURITY, name_fa="حراست کاشان", kind=UnitKind.security_office, parent_id="labour/isfahan/kashan",
                     agency="labour", province="isfahan", county="kashan"))
    assert tree.nearest(KASHAN, UnitKind.security_office).id == KASHAN_SECURITY


def test_children_and_ancestry() -> None:
    tree = seed_tree()
    assert [unit.id for unit in tree.children("labour/isfahan/kashan")] == ["labour/isfahan/kashan/performance-office"]
    assert {unit.id for unit in tree.children("labour")} >= {"labour/tehran", "labour/security-office", "labour/performance-office"}
    assert tree.children("labour/isfahan/kashan/performance-office") == [] and tree.children("nowhere") == []
    assert tree.is_under("labour/isfahan/kashan/performance-office", "labour") and tree.is_under("labour", "national")
    assert not tree.is_under("labour", "labour") and not tree.is_under("labour/isfahan", "labour/tehran")
    assert not tree.is_under("nowhere", "national")


def test_the_shipped_extra_units_all_hold_and_the_seed_tree_keeps_routing_as_before() -> None:
    tree = seed_tree()
    extra = [entry["id"] for entry in yaml.safe_load(SEED_UNITS.read_text(encoding="utf-8"))["units"]]
    assert all(tree.unit(unit_id) is not None for unit_id in extra) and len(tree) == len(org_seed().units) + len(extra)
    outcome = without_rules(tree, Target(agency="labour", province="tehran", county="rey"))
    assert (outcome.unit_id, outcome.decision.rule) == ("labour/tehran/rey/performance-office", "nearest-level:county")
    assert OrgTree(org_seed()).unit("labour/tehran/rey/performance-office").name_fa == tree.unit(outcome.unit_id).name_fa


async def test_the_table_is_seeded_once_and_changes_survive_a_restart(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    tree = install(runtime)
    assert install(runtime) is tree and len(tree) == len(seed_tree()) and tree.revision == 0
    await deliver(runtime, upserted())
    await deliver(runtime, OrgUnitRemoved(unit_id="labour/isfahan/kashan/performance-office", changed_by="x", changed_at=datetime.now(UTC)))
    table = await rows(runtime)
    assert len(table) == len(seed_tree()) and table["labour/isfahan/security-office"].updated_by == "seed"
    await runtime.engine.dispose()

    restarted = sqlite_runtime(create_runtime, "routing", tmp_path)
    again = install(restarted)
    assert again is not tree and list(again) == list(tree) and again.revision == tree.revision == 3
    assert again.unit(KASHAN_SECURITY) is not None and again.unit("labour/isfahan/kashan/performance-office") is None
    await restarted.engine.dispose()


async def test_a_replica_follows_changes_another_replica_applied(tmp_path) -> None:
    first = sqlite_runtime(create_runtime, "routing", tmp_path)
    tree = install(first)
    other = OrgKeeper(sqlite_runtime(create_runtime, "routing", tmp_path), poll_seconds=0.01)
    await other.refresh()  # first start: seeds the table
    assert other.tree.revision == 1 and tree.unit(KASHAN_SECURITY) is None
    await deliver(first, upserted())
    assert tree.revision == 2 and other.tree.unit(KASHAN_SECURITY) is None
    await other.refresh()
    assert list(other.tree) == list(tree) and other.tree.revision == 2
    await first.engine.dispose()
    await other.runtime.engine.dispose()


def test_the_upgrade_gives_seeded_units_their_english_names_unless_renamed_since(tmp_path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'routing.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0006")
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for unit_id, name in (("labour/fars/marvdasht/performance-office", "واحد رسیدگی به شکایات شهرستان مرودشت"),
                              ("labour/fars/shiraz", "اداره تعاون شیراز")):  # renamed since it was seeded
            connection.execute(text("INSERT INTO routing_org_unit (id, parent_id, name_fa, kind, calendar, version, updated_at, updated_by) "
                                    "VALUES (:id, NULL, :name, 'county_office', 'iran-standard', 1, :now, 'seed')"),
                               {"id": unit_id, "name": name, "now": now})
        connection.execute(text("INSERT INTO routing_org_tree (id, revision, seeded_at, changed_at) VALUES (1, 4, :now, :now)"), {"now": now})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        names = dict(connection.execute(text("SELECT id, name_en FROM routing_org_unit")).all())
        revision = connection.execute(text("SELECT revision FROM routing_org_tree")).scalar()
    engine.dispose()
    assert names == {"labour/fars/marvdasht/performance-office": "Complaints Unit, Marvdasht County", "labour/fars/shiraz": None}
    assert revision == 5  # every replica reloads its tree
