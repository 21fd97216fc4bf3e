"""Telling citizens about their case by SMS and e-mail (seed 002: the latest status by SMS).

Intake holds the contact data, so intake sends, for its own facts and on request of other services:

    fact or NotificationRequested ─enqueue (same transaction)─▶ intake_notification ─Dispatcher─▶ Sender

`queue` puts messages in the durable queue (`intake_notification`), `templates` holds the Persian text,
`delivery` sends due rows in the background with retries, `senders` are the adapters (file, SMTP, SMS
gateway), `settings` picks one (`HUB_INTAKE_NOTIFY_*`). The queue holds no personal data: the phone or
e-mail address is decrypted only to hand the message to the sender, and never logged.
"""

import logging

from hub_intake.notify.delivery import Dispatcher
from hub_intake.notify.models import Notification
from hub_intake.notify.queue import enqueue, enqueue_for_fact, on_notification_requested, preload_contacts, registered_rows
from hub_intake.notify.senders import senders_from
from hub_intake.notify.settings import NotifySettings, SenderKind, load_settings
from hub_intake.settings import IntakeSettings
from hub_shared.consumer import Subscription
from hub_shared.events import NotificationRequested
from hub_shared.service import Runtime
from hub_shared.settings import Environment
from hub_shared.topics import NOTIFICATIONS

__all__ = ["Dispatcher", "NotifySettings", "enqueue", "enqueue_for_fact", "install", "preload_contacts", "registered_rows"]
log = logging.getLogger(__name__)
GROUP = "intake-notify"


def install(runtime: Runtime, intake_settings: IntakeSettings) -> None:
    """Subscribe to notification requests and run the sender in the background. Installing twice changes nothing."""
    if any(isinstance(getattr(job, "__self__", None), Dispatcher) for job in runtime.background):
        return
    settings = load_settings()
    if settings.sender is SenderKind.file and runtime.settings.environment is Environment.production:
        log.warning("HUB_INTAKE_NOTIFY_SENDER=file in production: citizens' messages are written to a file, not sent")
    senders = senders_from(settings, runtime.settings.data_dir)
    dispatcher = Dispatcher(runtime.sessions, senders, settings, intake_settings.personal_data_vault,
                            intake_settings.follow_up_phone)
    runtime.add_subscription(Subscription(topic=NOTIFICATIONS.name, group=GROUP,
                                          handlers={NotificationRequested.event_type: on_notification_requested}))
    runtime.wake_on_commit(Notification.__tablename__, dispatcher.wake)
    runtime.background.append(dispatcher.send_notifications)
