"""followup: a ladder step that keeps failing to fire records its last error, and after too many attempts
ends `failed` (the status column is a plain string, so the new status needs no change there)

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("followup_timer") as batch:
        batch.add_column(sa.Column("last_error", sa.String(500), nullable=True))


def downgrade() -> None:  # failed steps stay failed: the older poller leaves them alone
    with op.batch_alter_table("followup_timer") as batch:
        batch.drop_column("last_error")
