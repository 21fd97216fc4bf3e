"""Which sender carries citizens' SMS and e-mail, and how hard to retry. `HUB_INTAKE_NOTIFY_*`."""

from enum import Enum
from typing import Any, Self

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "HUB_INTAKE_NOTIFY_"


class SenderKind(str, Enum):
    file = "file"  # the embedded default: messages are appended to <data dir>/outbox/notifications.jsonl
    smtp = "smtp"  # e-mail only; SMS rows fail with "no sender"
    sms_http = "sms-http"  # SMS through an HTTP gateway; e-mail too when the SMTP settings are given


class NotifySettings(BaseSettings):
    # the password and API key must not be echoed into a start-up error
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore", hide_input_in_errors=True)

    sender: SenderKind = Field(SenderKind.file, description=(
        "file, smtp or sms-http; file stands in for the gateway: it holds each message with the phone or address "
        "it would go to, so it is personal data like the gateway's own logs"))
    max_attempts: int = Field(8, ge=1, le=50, description="Attempts before a message is marked failed")
    retry_initial_seconds: float = Field(30, gt=0, description="Wait after the first failure; doubles each time, with jitter")
    retry_max_seconds: float = Field(3600, gt=0, description="Longest wait between two attempts")
    poll_seconds: float = Field(30, gt=0, le=300, description=(
        "The sender's safety poll: it sleeps until the next message is due, or until this process queues one"))
    batch_size: int = Field(20, ge=1, le=500, description="Messages sent at once")
    timeout_seconds: float = Field(10, gt=0, le=120, description="Longest wait for the gateway or mail server per message")
    sms_url: AnyHttpUrl | None = Field(None, description="sms-http: the gateway URL that takes a JSON POST of {to, text}")
    sms_api_key: SecretStr | None = Field(None, description="sms-http: sent as 'Authorization: Bearer <key>'")
    smtp_host: str | None = Field(None, description="mail server; with sms-http, e-mail is sent only when it is set")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", description="sender address of the e-mails")
    smtp_starttls: bool = Field(True, description="upgrade the connection with STARTTLS before logging in")

    @field_validator("sender", mode="before")
    @classmethod
    def _known_sender(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() not in {kind.value for kind in SenderKind}:
            raise ValueError(f"must be one of {', '.join(kind.value for kind in SenderKind)}")
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sender_configured(self) -> Self:
        if self.sender is SenderKind.sms_http and self.sms_url is None:
            raise ValueError(f"{PREFIX}SENDER=sms-http needs {PREFIX}SMS_URL")
        if self.sender is SenderKind.smtp and not self.smtp_host:
            raise ValueError(f"{PREFIX}SENDER=smtp needs {PREFIX}SMTP_HOST")
        if self.smtp_configured and not self.smtp_from:
            raise ValueError(f"{PREFIX}SMTP_HOST is set but {PREFIX}SMTP_FROM (the sender address) is not")
        if self.retry_max_seconds < self.retry_initial_seconds:
            raise ValueError(f"{PREFIX}RETRY_MAX_SECONDS must be at least {PREFIX}RETRY_INITIAL_SECONDS")
        return self

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def claim_seconds(self) -> float:
        """How long a claimed batch is hidden from other replicas while it is being sent."""
        return 2 * self.timeout_seconds + 60


def load_settings() -> NotifySettings:
    """The settings from the environment, or a stop whose message names each bad variable (never its value)."""
    try:
        return NotifySettings()
    except ValidationError as invalid:
        problems = [_named(error["loc"], error["msg"].removeprefix("Value error, ")) for error in invalid.errors()]
        raise SystemExit("invalid notification settings:\n  " + "\n  ".join(problems)) from None


def _named(location: tuple, message: str) -> str:
    return f"{PREFIX}{str(location[0]).upper()}: {message}" if location else message
