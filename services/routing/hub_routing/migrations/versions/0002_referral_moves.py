"""routing: what a referral needs for later moves (agency, kind, classification, transfers, the rules
version that decided it) and every move of a case between units

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

COLUMNS = [
    sa.Column("agency", sa.String(64), nullable=False, server_default=""),
    sa.Column("kind", sa.String(32), nullable=False, server_default=""),
    sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("about_employee", sa.String(64), nullable=True),
    sa.Column("transfers", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("rules_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False, server_default="referred"),
]


def upgrade() -> None:
    with op.batch_alter_table("routing_referral") as batch:
        for column in COLUMNS:
            batch.add_column(column)
        batch.alter_column("rule", existing_type=sa.String(100), type_=sa.String(200))
    op.create_table(
        "routing_move",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_unit", sa.String(200), nullable=True),
        sa.Column("to_unit", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routing_move")
    with op.batch_alter_table("routing_referral") as batch:
        batch.alter_column("rule", existing_type=sa.String(200), type_=sa.String(100))
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
