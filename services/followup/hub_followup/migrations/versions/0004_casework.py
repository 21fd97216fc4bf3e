"""followup: the cases follow-up works on and the steps taken on them

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "followup_case",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("tracking_code", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=True, index=True),
        sa.Column("unit_name", sa.String(300), nullable=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("about_employee", sa.String(64), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("stage", sa.String(32), nullable=False, index=True),
        sa.Column("reopenings", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "followup_case_step",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_unit", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("legal_grounds", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("clock_paused", sa.Boolean(), nullable=True),
        sa.Column("source_system", sa.String(64), nullable=True),
        sa.Column("source_ref", sa.String(128), nullable=True),
        sa.UniqueConstraint("source_system", "source_ref", name="uq_followup_step_source"),
    )


def downgrade() -> None:
    op.drop_table("followup_case_step")
    op.drop_table("followup_case")
