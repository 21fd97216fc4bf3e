"""intake: the final answer as the citizen sees it, and the objections that reopen a case

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

ANSWER_COLUMNS = [
    sa.Column("answer_outcome", sa.String(32), nullable=True),
    sa.Column("answer_fa", sa.Text(), nullable=True),
    sa.Column("legal_grounds", sa.Text(), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        for column in ANSWER_COLUMNS:
            batch.add_column(column)
    op.create_table(
        "intake_objection",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_objection")
    with op.batch_alter_table("intake_case") as batch:
        for column in reversed(ANSWER_COLUMNS):
            batch.drop_column(column.name)
