"""followup: each published outbox row names the broker incarnation that took it; reconcile reports

Revision ID: 0009
"""

from hub_shared.migrations import add_outbox_broker_epoch_and_reconcile, drop_outbox_broker_epoch_and_reconcile

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    add_outbox_broker_epoch_and_reconcile()


def downgrade() -> None:
    drop_outbox_broker_epoch_and_reconcile()
