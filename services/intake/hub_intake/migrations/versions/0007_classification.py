"""intake: the topic intake's classifier suggests for each case (and who confirmed or corrected it), and
the staff decisions kept with the case's text as training data

`intake_classification_correction` holds the citizen's words: erasing a case's data must erase its rows too.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

TABLE = "intake_classification_correction"
TOPIC_COLUMNS = [
    sa.Column("topic", sa.String(64), nullable=True),
    sa.Column("topic_confidence", sa.Float(), nullable=True),
    sa.Column("topic_confirmed_by", sa.String(128), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        for column in TOPIC_COLUMNS:
            batch.add_column(column)
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("suggested", sa.String(64), nullable=True),
        sa.Column("corrected", sa.String(64), nullable=False),
        sa.Column("corrected_by", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
    with op.batch_alter_table("intake_case") as batch:
        for column in reversed(TOPIC_COLUMNS):
            batch.drop_column(column.name)
