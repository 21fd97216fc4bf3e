"""reporting: each published outbox row names the broker incarnation that took it

Revision ID: 0007
"""

from hub_shared.migrations import add_outbox_broker_epoch, drop_outbox_broker_epoch

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    add_outbox_broker_epoch()


def downgrade() -> None:
    drop_outbox_broker_epoch()
