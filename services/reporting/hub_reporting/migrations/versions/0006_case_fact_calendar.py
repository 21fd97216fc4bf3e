"""reporting: each case fact names the working calendar of the unit holding the case, which its working-day
response time is counted on (facts projected before stay on the standard one until a rebuild)

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("reporting_case_fact") as batch:
        batch.add_column(sa.Column("calendar", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reporting_case_fact") as batch:
        batch.drop_column("calendar")
