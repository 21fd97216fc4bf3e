"""Routing's organisation tree on PostgreSQL: migrated, seeded on first use, changed by events in the same
transaction as the inbox, and read back by a restarted routing."""

from datetime import UTC, datetime

import sqlalchemy as sa

from hub_routing.app import create_runtime
from hub_routing.org import install
from hub_routing.tree import seed_tree
from hub_shared.events import OrgUnitRemoved, OrgUnitUpserted
from hub_shared.settings import HubSettings
from hub_shared.testing import deliver

UNIT = "labour/isfahan/kashan/security-office"


def change(**fields) -> OrgUnitUpserted:
    fields = {"parent_id": "labour/isfahan/kashan", "kind": "security_office", "name_fa": "حراست اداره کاشان", **fields}
    return OrgUnitUpserted(unit_id=UNIT, changed_by="isfahan-province-system", changed_at=datetime.now(UTC), **fields)


async def test_the_tree_is_seeded_changed_and_reloaded_on_postgresql(postgres_database: str, tmp_path) -> None:
    settings = HubSettings(service_name="routing", data_dir=tmp_path, database_url=postgres_database)
    runtime = create_runtime(settings)
    runtime.migrate()
    restarted = None
    try:
        tree = install(runtime)
        await deliver(runtime, change(contact={"email": "herasat@kashan.example.ir"}))
        await deliver(runtime, change(calendar="mars-time"), change(parent_id="labour/isfahan"))  # both refused
        await deliver(runtime, OrgUnitRemoved(unit_id="labour/isfahan/kashan/performance-office", changed_by="x",
                                              changed_at=datetime.now(UTC)))
        assert tree.unit(UNIT).contact.email == "herasat@kashan.example.ir" and tree.revision == 3
        async with runtime.engine.connect() as connection:
            count, = (await connection.execute(sa.text("SELECT count(*) FROM routing_org_unit"))).one()
            revision, = (await connection.execute(sa.text("SELECT revision FROM routing_org_tree"))).one()
            applied, = (await connection.execute(sa.text("SELECT count(*) FROM inbox WHERE consumer = 'routing-org'"))).one()
        assert (count, revision, applied) == (len(seed_tree()), 3, 4)

        restarted = create_runtime(settings)
        restarted.migrate()
        again = install(restarted)
        assert list(again) == list(tree) and again.revision == 3
        assert again.unit(UNIT).calendar == "iran-standard" and again.unit("labour/isfahan/kashan/performance-office") is None
    finally:
        await runtime.engine.dispose()
        if restarted is not None:
            await restarted.engine.dispose()
