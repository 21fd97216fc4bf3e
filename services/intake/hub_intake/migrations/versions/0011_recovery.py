"""intake: each published outbox row names the broker incarnation that took it; reconcile reports

Revision ID: 0011
"""

from hub_shared.migrations import add_outbox_broker_epoch_and_reconcile, drop_outbox_broker_epoch_and_reconcile

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    add_outbox_broker_epoch_and_reconcile()


def downgrade() -> None:
    drop_outbox_broker_epoch_and_reconcile()
