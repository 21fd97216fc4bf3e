"""Intake's migrations on PostgreSQL: the audit log refuses UPDATE, DELETE and TRUNCATE at the database,
whatever code (or person with SQL access) tries."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from hub_intake.app import create_runtime
from hub_intake.models import AuditEntry
from hub_shared.settings import HubSettings


async def test_the_audit_log_is_append_only_on_postgresql(postgres_database: str, tmp_path) -> None:
    runtime = create_runtime(HubSettings(service_name="intake", data_dir=tmp_path, database_url=postgres_database))
    runtime.migrate()
    try:
        async with runtime.sessions() as session, session.begin():
            session.add(AuditEntry(at=datetime.now(UTC), actor="p-1", actor_role="expert", actor_unit="labour/isfahan",
                                   action="read_personal_data", case_id=uuid.uuid4(), case_unit="labour/isfahan",
                                   fields="phone", purpose="calling the complainant back"))
        for statement in ("UPDATE intake_audit SET purpose = 'nothing'", "DELETE FROM intake_audit", "TRUNCATE intake_audit"):
            async with runtime.engine.connect() as connection:
                with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                    await connection.execute(sa.text(statement))
        async with runtime.engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT actor, purpose FROM intake_audit"))).all()
        assert [tuple(row) for row in rows] == [("p-1", "calling the complainant back")]
    finally:
        await runtime.engine.dispose()
