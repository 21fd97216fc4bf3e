"""followup: each ladder counts on the working calendar of the unit holding the case, and each step keeps
what it is counted from, so a move to a unit on another calendar can count the steps ahead again

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("followup_ladder") as batch:
        batch.add_column(sa.Column("calendar", sa.String(64), nullable=True))
    with op.batch_alter_table("followup_timer") as batch:
        batch.add_column(sa.Column("counted_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("working_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup_timer") as batch:
        batch.drop_column("working_days")
        batch.drop_column("counted_from")
    with op.batch_alter_table("followup_ladder") as batch:
        batch.drop_column("calendar")
