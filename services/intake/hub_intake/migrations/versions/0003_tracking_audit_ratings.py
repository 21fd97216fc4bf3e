"""intake: what citizens track (holding unit, deadline, history), the append-only audit log of
personal-data access, pending anonymous ratings, and a keyed phone hash for tracking by phone

Existing complainants get their phone hash from the decrypted phone (with the configured keys).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from hub_intake.models import ciphertext_column
from hub_intake.settings import IntakeSettings

revision = "0003"
down_revision = "0002"

AUDIT = "intake_audit"
_APPEND_ONLY_SQLITE = [
    f"CREATE TRIGGER {AUDIT}_no_{verb} BEFORE {verb.upper()} ON {AUDIT} "
    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    for verb in ("update", "delete")
]
_APPEND_ONLY_POSTGRES = [
    f"""CREATE FUNCTION {AUDIT}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    f"CREATE TRIGGER {AUDIT}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {AUDIT} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {AUDIT}_append_only()",
]


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        batch.add_column(sa.Column("about_employee", sa.String(64), nullable=True))
        batch.add_column(sa.Column("unit_id", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("unit_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_intake_case_unit_id", ["unit_id"])
    cases = sa.table("intake_case", sa.column("unit_id", sa.String()), sa.column("agency", sa.String()), sa.column("province", sa.String()))
    op.execute(cases.update().values(unit_id=cases.c.agency + "/" + cases.c.province))
    with op.batch_alter_table("intake_complainant") as batch:
        batch.add_column(sa.Column("phone_hash", sa.String(64), nullable=False, server_default=""))
    _hash_stored_phones()
    op.create_table(
        "intake_case_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note_fa", sa.Text(), nullable=False),
        sa.Column("note_en", sa.Text(), nullable=False),
    )
    op.create_table(
        AUDIT,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(128), nullable=False, index=True),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_unit", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("case_unit", sa.String(200), nullable=False),
        sa.Column("fields", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
    )
    for statement in _APPEND_ONLY_POSTGRES if op.get_bind().dialect.name == "postgresql" else _APPEND_ONLY_SQLITE:
        op.execute(statement)
    op.create_table(
        "intake_pending_rating",
        sa.Column("rating_id", sa.Uuid(), primary_key=True),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("employee_id", sa.String(64), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        *(sa.Column(aspect, sa.Integer(), nullable=True) for aspect in ("respect", "speed", "quality", "conduct")),
        sa.Column("rated_on", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_pending_rating")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {AUDIT}_append_only() CASCADE")
    op.drop_table(AUDIT)  # dropping the table drops SQLite's triggers with it
    op.drop_table("intake_case_history")
    with op.batch_alter_table("intake_complainant") as batch:
        batch.drop_column("phone_hash")
    with op.batch_alter_table("intake_case") as batch:
        batch.drop_index("ix_intake_case_unit_id")
        for column in ("deadline_at", "unit_name", "unit_id", "about_employee"):
            batch.drop_column(column)


def _hash_stored_phones() -> None:
    table = sa.table("intake_complainant", sa.column("case_id", sa.Uuid()), sa.column("phone_ciphertext", sa.LargeBinary()),
                     sa.column("phone_hash", sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.case_id, table.c.phone_ciphertext)).all()
    if not rows:
        return  # a fresh database needs no keys
    vault = IntakeSettings().personal_data_vault
    for case_id, ciphertext in rows:
        phone = vault.decrypt(ciphertext, column=ciphertext_column("phone"), case_id=case_id)
        connection.execute(table.update().where(table.c.case_id == case_id).values(phone_hash=vault.lookup_hash(phone)))
