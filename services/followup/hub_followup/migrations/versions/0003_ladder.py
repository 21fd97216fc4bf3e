"""followup: the follow-up ladder: a ladder per case (deadline, paused clock) and leased, numbered timers

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "followup_ladder",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("about_employee", sa.String(64), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("followup_timer") as batch:
        batch.add_column(sa.Column("ladder", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_timer_case_step", type_="unique")
        batch.create_unique_constraint("uq_timer_case_ladder_step", ["case_id", "ladder", "step"])
        batch.create_index("ix_followup_timer_status_due_at", ["status", "due_at"])
    _ladders_for_existing_deadlines()


def _ladders_for_existing_deadlines() -> None:
    """Cases routed before the ladder keep their deadline timer; it fires as the ladder's deadline step."""
    agency = "split_part(unit_id, '/', 1)" if op.get_bind().dialect.name == "postgresql" else \
        "substr(unit_id, 1, instr(unit_id || '/', '/') - 1)"
    op.execute(f"""
        INSERT INTO followup_ladder (case_id, tracking_code, agency, unit_id, confidential, about_employee, deadline_at, number)
        SELECT case_id, tracking_code, {agency}, unit_id, confidential, about_employee, due_at, 1
        FROM followup_timer WHERE step = 'answer_deadline'
    """)


def downgrade() -> None:
    op.execute("DELETE FROM followup_timer WHERE ladder > 1 OR step <> 'answer_deadline'")
    with op.batch_alter_table("followup_timer") as batch:
        batch.drop_index("ix_followup_timer_status_due_at")
        batch.drop_constraint("uq_timer_case_ladder_step", type_="unique")
        batch.create_unique_constraint("uq_timer_case_step", ["case_id", "step"])
        batch.drop_column("fired_at")
        batch.drop_column("lease_owner")
        batch.drop_column("ladder")
    op.drop_table("followup_ladder")
