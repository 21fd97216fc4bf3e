"""intake: the working calendar of the unit holding a case, for the working days left to its deadline

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        batch.add_column(sa.Column("calendar", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_case") as batch:
        batch.drop_column("calendar")
