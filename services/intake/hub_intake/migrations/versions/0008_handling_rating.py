"""intake: the citizen's rating of how an answered case was handled

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        batch.add_column(sa.Column("handling_score", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        batch.drop_column("handling_score")
