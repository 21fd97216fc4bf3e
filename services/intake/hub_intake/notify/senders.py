"""Senders: one port, `Sender.send(message)`, and the adapters behind it.

A sender raises `PermanentFailure` when trying again cannot help (the gateway refused this message or
this recipient) and anything else when it might (network, timeouts, a server error, a rejected key
that an operator can fix). Their error texts name no phone or address: they end up in the queue row.
"""

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from uuid import UUID

import aiosmtplib
import httpx

from hub_intake.notify.models import Channel
from hub_intake.notify.settings import NotifySettings, SenderKind

# gateway answers that say "not now" or "fix the configuration", not "never this message"
RETRYABLE_CLIENT_ERRORS = frozenset({401, 403, 404, 408, 409, 425, 429})


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    case_id: UUID
    channel: Channel
    to: str = field(repr=False)  # the citizen's phone or e-mail address: kept out of reprs and logs
    subject: str
    text: str


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> None: ...


class SendFailure(Exception):
    """The message was not sent; the text is safe to store (no contact data)."""


class TemporaryFailure(SendFailure):
    pass


class PermanentFailure(SendFailure):
    pass


class FileSender:
    """Stands in for the SMS gateway and mail server of the embedded default: each message, with the
    phone or address it would go to, becomes one JSON line. The file is readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def send(self, message: OutgoingMessage) -> None:
        line = json.dumps({"notification_id": message.notification_id, "case_id": str(message.case_id),
                           "channel": message.channel.value, "to": message.to, "subject": message.subject,
                           "text": message.text, "at": datetime.now(UTC).isoformat()}, ensure_ascii=False)
        async with self._lock:
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as out:
            out.write(line + "\n")


class SmsHttpSender:
    """An SMS gateway that takes a JSON POST of {to, text}: 2xx sent, 4xx refused (except the ones in
    RETRYABLE_CLIENT_ERRORS), anything else tried again."""

    def __init__(self, url: str, api_key: str | None, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = url
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._transport = transport

    async def send(self, message: OutgoingMessage) -> None:
        headers = {**self._headers, "idempotency-key": f"hub-notification-{message.notification_id}"}
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.post(self._url, json={"to": message.to, "text": message.text}, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"SMS gateway not reached ({type(exc).__name__})") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
            raise PermanentFailure(f"SMS gateway refused the message (HTTP {status})")
        raise TemporaryFailure(f"SMS gateway answered HTTP {status}")


class SmtpSender:
    """E-mail through a mail server (aiosmtplib). A recipient refused with a 5xx code fails the message;
    any other trouble (connection, login, 4xx) is tried again."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    async def send(self, message: OutgoingMessage) -> None:
        settings = self._settings
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = settings.smtp_from, message.to, message.subject
        email.set_content(message.text)
        try:
            await aiosmtplib.send(
                email, hostname=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_user,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                start_tls=settings.smtp_starttls, timeout=settings.timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = sorted({recipient.code for recipient in refused.recipients})
            failure = PermanentFailure if all(code >= 500 for code in codes) else TemporaryFailure
            raise failure(f"mail server refused the recipient ({', '.join(map(str, codes))})") from None
        except aiosmtplib.SMTPDataError as exc:
            failure = PermanentFailure if exc.code >= 500 else TemporaryFailure
            raise failure(f"mail server refused the message ({exc.code})") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"mail not sent ({type(exc).__name__}{_code(exc)})") from None


def _code(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    return f" {code}" if code else ""


def senders_from(settings: NotifySettings, data_dir: Path) -> Mapping[Channel, Sender]:
    """Which sender carries each channel; a channel left out is not sent (its messages fail at once)."""
    if settings.sender is SenderKind.file:
        file = FileSender(outbox_file(data_dir))
        return {Channel.sms: file, Channel.email: file}
    senders: dict[Channel, Sender] = {}
    if settings.sender is SenderKind.sms_http:
        api_key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else None
        senders[Channel.sms] = SmsHttpSender(str(settings.sms_url), api_key, settings.timeout_seconds)
    if settings.smtp_configured:
        senders[Channel.email] = SmtpSender(settings)
    return senders


def outbox_file(data_dir: Path) -> Path:
    return data_dir / "outbox" / "notifications.jsonl"
