"""followup: a timer carries its case's confidentiality and the employee it is about, for staff views

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("followup_timer") as batch:
        batch.add_column(sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("about_employee", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup_timer") as batch:
        batch.drop_column("about_employee")
        batch.drop_column("confidential")
