"""Citizen notifications on a real SQLite database with the in-memory broker: queued once per fact in the
fact's transaction, sent by a pluggable sender with retries and backoff, never a phone or e-mail address
in the queue, the logs or an error; the SMS gateway and SMTP adapters against local stand-ins."""

import asyncio
import json
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr, ValidationError
from sqlmodel import col, select
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from hub_intake import notify
from hub_intake.app import create_runtime
from hub_intake.models import Case, Complainant, seal_personal_data
from hub_intake.notify import Dispatcher, enqueue, enqueue_for_fact
from hub_intake.notify.models import Channel, Notification
from hub_intake.notify.senders import (OutgoingMessage, PermanentFailure, SmsHttpSender, SmtpSender, TemporaryFailure,
                                       outbox_file, senders_from)
from hub_intake.notify.settings import NotifySettings, load_settings
from hub_intake.notify.templates import missing_params, render
from hub_intake.settings import IntakeSettings
from hub_shared.envelope import wrap
from hub_shared.events import CaseRejected, CaseRouted, NotificationRequested, NotificationTemplate, RoutingDecision
from hub_shared.jalali import to_jalali
from hub_shared.settings import HubSettings
from hub_shared.testing import deliver, deliver_batch, sqlite_runtime
from hub_shared.tracking import new_tracking_code
from tests.conftest import _postgres_admin_url, fresh_postgres_database

PHONE, EMAIL = "09121234567", "citizen@example.ir"
NOW = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
KASHAN_OFFICE = "اداره تعاون، کار و رفاه اجتماعی کاشان"


@pytest.fixture
async def runtime(tmp_path):
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    notify.install(runtime, IntakeSettings())  # a no-op where app.py already installs it
    yield runtime
    await runtime.engine.dispose()


async def add_case(runtime, *, email: str | None = None, anonymous: bool = False) -> Case:
    vault = IntakeSettings().personal_data_vault
    case = Case(case_id=uuid.uuid4(), case_number="1405-00000042", tracking_code=new_tracking_code(), kind="complaint",
                channel="web", subject_text="عدم پاسخگویی", description="سه بار مراجعه کرده‌ام.", agency="labour",
                province="isfahan", status="registered", unit_id="labour/isfahan", registered_at=NOW, anonymous=anonymous)
    async with runtime.sessions() as session, session.begin():
        session.add(case)
        if not anonymous:
            personal = {"full_name": "علی رضایی", "national_id": "2914177763", "phone": PHONE, "address": "کاشان", "email": email}
            session.add(Complainant(case_id=case.case_id, **seal_personal_data(vault, case.case_id, personal),
                                    national_id_hash="n" * 64, phone_hash="p" * 64, citizen_ref="r" * 32))
    return case


async def queue_fact(runtime, case: Case, event, event_id: str = "event-1") -> None:
    async with runtime.sessions() as session, session.begin():
        await enqueue_for_fact(session, case, event, event_id)


async def queued(runtime) -> list[Notification]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(Notification).order_by(col(Notification.id)))).all())


def routed(case: Case) -> CaseRouted:
    return CaseRouted(case_id=case.case_id, tracking_code=case.tracking_code, unit_id="labour/isfahan/kashan",
                      unit_name=KASHAN_OFFICE, decision=RoutingDecision(rule="nearest", explanation="e"), working_days=30,
                      deadline_at=datetime(2027, 1, 9, 20, 29, tzinfo=UTC), deadline_jalali="1405/10/19", routed_at=NOW)


def rejected(case: Case) -> CaseRejected:
    return CaseRejected(case_id=case.case_id, tracking_code=case.tracking_code, reason_code="final_ruling",
                        reason_fa="اعتراض به رأی قطعی قابل رسیدگی نیست.", reason_en="An appeal of a final ruling is not examined.",
                        rejected_at=NOW)


class Recorder:
    """A sender that fails as told (one exception per call, then succeeds) and keeps what it sent."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


def dispatcher(runtime, senders, **settings) -> Dispatcher:
    return Dispatcher(runtime.sessions, senders, NotifySettings(**settings), IntakeSettings().personal_data_vault, "111")


# queueing


async def test_a_fact_queues_once_even_when_it_arrives_twice(runtime) -> None:
    case = await add_case(runtime, email=EMAIL)
    await queue_fact(runtime, case, routed(case))
    await queue_fact(runtime, case, routed(case))
    rows = await queued(runtime)
    assert sorted(row.channel for row in rows) == ["email", "sms"], "SMS, and e-mail because the citizen gave one"
    assert {row.template for row in rows} == {"referred"} and {row.status for row in rows} == {"pending"}
    params = rows[0].params
    assert params["unit_name"] == KASHAN_OFFICE and params["deadline_jalali"] == to_jalali(routed(case).deadline_at)
    assert params["tracking_code"] == case.tracking_code and params["case_number"] == case.case_number
    assert PHONE not in json.dumps(params) and EMAIL not in json.dumps(params), "the queue holds no contact data"
    await queue_fact(runtime, case, routed(case), event_id="event-2")
    assert len(await queued(runtime)) == 4, "another fact is another message"


async def test_no_email_given_means_sms_only_and_anonymous_reports_get_nothing(runtime) -> None:
    named, anonymous = await add_case(runtime), await add_case(runtime, anonymous=True)
    await queue_fact(runtime, named, rejected(named))
    await queue_fact(runtime, anonymous, rejected(anonymous))
    assert [(row.case_id, row.channel, row.template) for row in await queued(runtime)] == [(named.case_id, "sms", "rejected")]


async def test_a_batch_of_facts_updates_each_case_and_queues_each_message_once(runtime, caplog) -> None:
    """The case-fact consumer reads a batch's cases, contacts and queued messages in a query each: the outcome must be
    what one fact at a time gives (SMS, e-mail where given, nothing for anonymous reports, each fact once)."""
    with_email, sms_only, anonymous = await add_case(runtime, email=EMAIL), await add_case(runtime), await add_case(runtime, anonymous=True)
    facts = [wrap(routed(with_email), "/hub/routing"), wrap(rejected(sms_only), "/hub/routing"), wrap(routed(anonymous), "/hub/routing")]
    await deliver_batch(runtime, "intake", *facts)
    await deliver_batch(runtime, "intake", *facts, wrap(routed(sms_only), "/hub/routing"))
    assert "retrying one by one" not in caplog.text
    assert sorted((row.case_id == with_email.case_id, row.case_id == sms_only.case_id, row.channel, row.template)
                  for row in await queued(runtime)) == [
        (False, True, "sms", "referred"), (False, True, "sms", "rejected"), (True, False, "email", "referred"),
        (True, False, "sms", "referred")]
    async with runtime.sessions() as session:
        statuses = {case.case_id: case.status for case in (await session.exec(select(Case))).all()}
    assert statuses == {with_email.case_id: "referred", sms_only.case_id: "referred", anonymous.case_id: "referred"}


async def test_enqueue_refuses_unknown_templates_missing_and_personal_params(runtime) -> None:
    case = await add_case(runtime)
    async with runtime.sessions() as session:
        with pytest.raises(ValueError, match="greeting"):
            await enqueue(session, case, "greeting", "e", {})
        with pytest.raises(ValueError, match="unit_name"):
            await enqueue(session, case, "referred", "e", {"deadline_jalali": "1405/10/19 23:59"})
        with pytest.raises(ValueError, match="'unit_name'") as refused:
            await enqueue(session, case, "referred", "e", {"unit_name": PHONE, "deadline_jalali": "1405/10/19"})
        assert PHONE not in str(refused.value)
    assert await queued(runtime) == []


@pytest.mark.parametrize(("template", "params"), [
    ("registered", {"registered_jalali": "1405/09/03 12:00"}),
    ("referred", {"unit_name": KASHAN_OFFICE, "deadline_jalali": "1405/10/19 23:59"}),
    ("rejected", {"reason_fa": "مستند نیست.", "reason_en": "Not documented."}),
    ("reopened", {}),
    ("answered", {}),
])
def test_every_template_renders_in_persian_with_the_codes(template, params) -> None:
    values = {**params, "case_number": "1405-00000042", "tracking_code": "12345678903"}
    assert missing_params(NotificationTemplate(template), values) == [], "the parameters NotificationTemplate documents"
    rendered = render(NotificationTemplate(template), values, follow_up_phone="111")
    assert "1405-00000042" in rendered.subject and "12345678903" in rendered.sms and "درخواست" in rendered.sms
    assert rendered.email.startswith(rendered.sms) and "racking code 12345678903" in rendered.email.replace(":", "")
    assert "{" not in rendered.sms + rendered.email


# sending


async def test_the_file_sender_writes_the_persian_text_with_the_tracking_code(runtime, tmp_path) -> None:
    case = await add_case(runtime, email=EMAIL)
    await queue_fact(runtime, case, rejected(case))
    senders = senders_from(NotifySettings(), tmp_path)
    assert await dispatcher(runtime, senders).send_due() == 2
    path = outbox_file(tmp_path)
    lines = {line["channel"]: line for line in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    sms, email = lines["sms"], lines["email"]
    assert sms["to"] == PHONE and email["to"] == EMAIL, "the file stands in for the gateway: it holds the recipient"
    assert sms["text"].startswith(f"درخواست {case.case_number} مردود شد: اعتراض به رأی قطعی")
    assert case.tracking_code in sms["text"] and case.tracking_code in email["text"]
    assert "An appeal of a final ruling" in email["text"] and "An appeal" not in sms["text"], "English only in e-mails"
    assert os.stat(path).st_mode & 0o077 == 0, "readable by its owner only"
    rows = await queued(runtime)
    assert {(row.status, row.attempts) for row in rows} == {("sent", 1)} and all(row.sent_at for row in rows)
    assert await dispatcher(runtime, senders).send_due() == 0, "sent once"


async def test_the_background_job_sends_what_is_queued(runtime) -> None:
    case = await add_case(runtime)
    sms = Recorder(TemporaryFailure("SMS gateway answered HTTP 503"))
    job = asyncio.create_task(dispatcher(runtime, {Channel.sms: sms}, poll_seconds=0.02, retry_initial_seconds=0.05,
                                         retry_max_seconds=0.1).send_notifications())
    try:
        await queue_fact(runtime, case, rejected(case))
        async for attempt in AsyncRetrying(stop=stop_after_delay(5), wait=wait_fixed(0.02), reraise=True):
            with attempt:
                assert [row.status for row in await queued(runtime)] == ["sent"]
    finally:
        job.cancel()
    assert len(sms.sent) == 1


async def test_a_sender_outage_keeps_the_message_and_backs_off_until_it_is_sent(runtime, caplog) -> None:
    caplog.set_level(logging.INFO)
    case = await add_case(runtime)
    await queue_fact(runtime, case, routed(case))
    sms = Recorder(TemporaryFailure("SMS gateway answered HTTP 503"), RuntimeError(f"gateway choked on {PHONE}"))
    sender = dispatcher(runtime, {Channel.sms: sms}, retry_initial_seconds=30, retry_max_seconds=600)

    start = datetime.now(UTC)
    assert await sender.send_due(start) == 1
    (row,) = await queued(runtime)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMS gateway answered HTTP 503")
    first_retry = row.next_attempt_at.replace(tzinfo=UTC)
    assert start + timedelta(seconds=30) <= first_retry <= start + timedelta(seconds=60), "30 s plus up to 30 s of jitter"
    assert await sender.send_due(start + timedelta(seconds=29)) == 0, "not due before the backoff"

    assert await sender.send_due(first_retry) == 1
    (row,) = await queued(runtime)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "RuntimeError"), "a foreign error keeps only its type"
    assert row.next_attempt_at.replace(tzinfo=UTC) >= first_retry + timedelta(seconds=60), "the wait doubles"

    assert await sender.send_due(row.next_attempt_at.replace(tzinfo=UTC)) == 1
    (row,) = await queued(runtime)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    (message,) = sms.sent
    assert message.to == PHONE and KASHAN_OFFICE in message.text and to_jalali(routed(case).deadline_at) in message.text
    assert PHONE not in repr(message) and PHONE not in caplog.text
    assert f"notification {row.id} sent via sms" in caplog.text


async def test_a_message_fails_after_max_attempts_or_at_once_when_refused(runtime, caplog) -> None:
    case = await add_case(runtime, email=EMAIL)
    await queue_fact(runtime, case, rejected(case))
    down = [TemporaryFailure("SMS gateway answered HTTP 502")] * 3
    refused = [PermanentFailure(f"mail server refused <{EMAIL}>")]
    sender = dispatcher(runtime, {Channel.sms: Recorder(*down), Channel.email: Recorder(*refused)}, max_attempts=3)
    moment = datetime.now(UTC)
    for _ in range(3):
        await sender.send_due(moment)
        moment += timedelta(hours=2)
    rows = {row.channel: row for row in await queued(runtime)}
    assert (rows["sms"].status, rows["sms"].attempts) == ("failed", 3)
    assert (rows["email"].status, rows["email"].attempts) == ("failed", 1), "a refusal is not retried"
    assert rows["email"].last_error == "mail server refused <<contact>>", "the address is scrubbed from the error"
    assert EMAIL not in caplog.text and PHONE not in caplog.text
    assert await sender.send_due(moment + timedelta(days=1)) == 0


async def test_a_channel_without_a_sender_fails_at_once(runtime, tmp_path) -> None:
    case = await add_case(runtime, email=EMAIL)
    await queue_fact(runtime, case, rejected(case))
    sms = Recorder()
    await dispatcher(runtime, {Channel.sms: sms}).send_due()
    rows = {row.channel: row for row in await queued(runtime)}
    assert rows["sms"].status == "sent" and len(sms.sent) == 1
    assert (rows["email"].status, rows["email"].last_error) == ("failed", "no sender is configured for email")
    only_sms = NotifySettings(sender="sms-http", sms_url="https://sms.example/send")
    assert set(senders_from(only_sms, tmp_path)) == {"sms"}, "sms-http sends e-mail only when SMTP is configured too"
    both = NotifySettings(sender="sms-http", sms_url="https://sms.example/send", smtp_host="mail.example", smtp_from="hub@gov.example")
    assert set(senders_from(both, tmp_path)) == {"sms", "email"}


@pytest.mark.postgres
async def test_replicas_claim_disjoint_rows_on_postgresql(tmp_path) -> None:
    """A row another replica holds (FOR UPDATE) is skipped, not waited for, and sent once it is free."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
            pytest.fail("no PostgreSQL: set HUB_TEST_POSTGRES_URL or run one on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL: set HUB_TEST_POSTGRES_URL or run one on 127.0.0.1:5432")
    databases = fresh_postgres_database(admin_url, prefix="hub_notify")
    runtime = create_runtime(HubSettings(service_name="intake", data_dir=tmp_path, database_url=next(databases)))
    try:
        runtime.migrate()
        case = await add_case(runtime, email=EMAIL)
        await queue_fact(runtime, case, rejected(case))
        sms, email = Recorder(), Recorder()
        sender = dispatcher(runtime, {Channel.sms: sms, Channel.email: email})
        async with runtime.sessions() as other_replica, other_replica.begin():
            await other_replica.exec(select(Notification).where(Notification.channel == "sms").with_for_update())
            assert await sender.send_due() == 1
            assert (len(sms.sent), len(email.sent)) == (0, 1)
        assert await sender.send_due() == 1 and len(sms.sent) == 1
    finally:
        await runtime.engine.dispose()
        next(databases, None)


# the bus


async def test_a_notification_request_from_the_bus_is_queued_once(runtime, caplog) -> None:
    case, other = await add_case(runtime), await add_case(runtime)
    request = NotificationRequested(case_id=case.case_id, tracking_code=case.tracking_code, template="answered", params={})
    envelope = wrap(request, "/hub/followup")
    unknown = NotificationRequested(case_id=uuid.uuid4(), tracking_code=case.tracking_code, template="reopened")
    wrong_code = NotificationRequested(case_id=other.case_id, tracking_code=case.tracking_code, template="reopened")
    await deliver(runtime, envelope, envelope, unknown, wrong_code)
    (row,) = await queued(runtime)
    assert (row.case_id, row.template, row.event_id, row.channel) == (case.case_id, "answered", envelope.id, "sms")
    assert "reopened requested for a case intake does not hold" in caplog.text
    assert "with another case's tracking code" in caplog.text


def test_a_notification_request_carries_no_personal_data() -> None:
    with pytest.raises(ValidationError, match="personal data"):
        NotificationRequested(case_id=uuid.uuid4(), tracking_code="1", template="answered", params={"note": f"call {PHONE}"})
    with pytest.raises(ValidationError):
        NotificationRequested(case_id=uuid.uuid4(), tracking_code="1", template="answered", params={"x": "y" * 501})


def test_install_twice_runs_one_sender(runtime) -> None:
    notify.install(runtime, IntakeSettings())
    assert sum(isinstance(getattr(job, "__self__", None), Dispatcher) for job in runtime.background) == 1


# adapters


def message(to: str = PHONE) -> OutgoingMessage:
    return OutgoingMessage(notification_id=7, case_id=uuid.uuid4(), channel=Channel.sms, to=to, subject="ثبت درخواست",
                           text="درخواست شما ثبت شد. کد رهگیری: 12345678903")


@pytest.mark.parametrize(("status", "outcome"), [
    (200, None), (202, None), (400, PermanentFailure), (422, PermanentFailure),
    (401, TemporaryFailure), (429, TemporaryFailure), (500, TemporaryFailure), (503, TemporaryFailure),
])
async def test_the_sms_gateway_answer_decides_sent_refused_or_retry(status, outcome) -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"to": PHONE})

    sender = SmsHttpSender("https://sms.example/send", "key-1", timeout=5, transport=httpx.MockTransport(gateway))
    if outcome is None:
        await sender.send(message())
    else:
        with pytest.raises(outcome) as failure:
            await sender.send(message())
        assert str(status) in str(failure.value) and PHONE not in str(failure.value)
    (request,) = seen
    assert json.loads(request.content) == {"to": PHONE, "text": "درخواست شما ثبت شد. کد رهگیری: 12345678903"}
    assert request.headers["authorization"] == "Bearer key-1" and request.headers["idempotency-key"] == "hub-notification-7"


async def test_an_unreachable_sms_gateway_is_retried() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    sender = SmsHttpSender("https://sms.example/send", None, timeout=5, transport=httpx.MockTransport(unreachable))
    with pytest.raises(TemporaryFailure, match="ConnectTimeout"):
        await sender.send(message())


class Mailbox:
    """An aiosmtpd handler: keeps each message; RCPT answers `rcpt_reply` when set."""

    def __init__(self, rcpt_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.received: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((session.auth_data, envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 Message accepted"


def password_check(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=auth_data.password == b"s3cret", handled=False, auth_data=auth_data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_server():
    servers = []

    def start(handler: Mailbox) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False, authenticator=password_check)
        controller.start()
        servers.append(controller)
        return port

    yield start
    for controller in servers:
        controller.stop()


def smtp(port: int, **extra) -> NotifySettings:
    return NotifySettings(sender="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_from="hub@gov.example",
                          smtp_starttls=False, timeout_seconds=5, **extra)


async def test_the_smtp_sender_logs_in_and_delivers_the_persian_mail(mail_server) -> None:
    mailbox = Mailbox()
    port = mail_server(mailbox)
    await SmtpSender(smtp(port, smtp_user="hub", smtp_password=SecretStr("s3cret"))).send(message(EMAIL))
    ((login, sender, recipients, content),) = mailbox.received
    assert (login.login, sender, recipients) == (b"hub", "hub@gov.example", [EMAIL])
    from email import message_from_bytes, policy

    mail = message_from_bytes(content, policy=policy.default)
    assert mail["Subject"] == "ثبت درخواست" and "کد رهگیری: 12345678903" in mail.get_content()


@pytest.mark.parametrize(("reply", "outcome"), [("550 5.1.1 no such mailbox", PermanentFailure),
                                                 ("450 4.2.1 mailbox busy", TemporaryFailure)])
async def test_a_refused_recipient_is_final_only_with_a_5xx_code(mail_server, reply, outcome) -> None:
    port = mail_server(Mailbox(rcpt_reply=reply))
    with pytest.raises(outcome) as failure:
        await SmtpSender(smtp(port)).send(message(EMAIL))
    assert EMAIL not in str(failure.value) and reply[:3] in str(failure.value)


async def test_a_wrong_smtp_password_or_no_server_is_retried(mail_server) -> None:
    port = mail_server(Mailbox())
    with pytest.raises(TemporaryFailure, match="SMTPAuthenticationError"):
        await SmtpSender(smtp(port, smtp_user="hub", smtp_password=SecretStr("wrong"))).send(message(EMAIL))
    with pytest.raises(TemporaryFailure):
        await SmtpSender(smtp(free_port())).send(message(EMAIL))


# settings


@pytest.mark.parametrize(("env", "named"), [
    ({"HUB_INTAKE_NOTIFY_SENDER": "pigeon"}, "HUB_INTAKE_NOTIFY_SENDER: must be one of file, smtp, sms-http"),
    ({"HUB_INTAKE_NOTIFY_SENDER": "sms-http"}, "HUB_INTAKE_NOTIFY_SENDER=sms-http needs HUB_INTAKE_NOTIFY_SMS_URL"),
    ({"HUB_INTAKE_NOTIFY_SENDER": "smtp"}, "HUB_INTAKE_NOTIFY_SENDER=smtp needs HUB_INTAKE_NOTIFY_SMTP_HOST"),
    ({"HUB_INTAKE_NOTIFY_SMTP_HOST": "mail.example", "HUB_INTAKE_NOTIFY_SMTP_PASSWORD": "hunter2-secret"},
     "HUB_INTAKE_NOTIFY_SMTP_FROM"),
    ({"HUB_INTAKE_NOTIFY_MAX_ATTEMPTS": "0"}, "HUB_INTAKE_NOTIFY_MAX_ATTEMPTS"),
])
def test_bad_settings_stop_with_the_setting_named_and_no_secret(monkeypatch, env, named) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert named in str(stopped.value) and "hunter2-secret" not in str(stopped.value)


def test_the_default_sender_is_the_file(monkeypatch) -> None:
    settings = load_settings()
    assert settings.sender.value == "file" and settings.max_attempts >= 1


# waking up


async def test_a_queued_message_wakes_the_sleeping_sender(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_INTAKE_NOTIFY_POLL_SECONDS", "60")  # a safety poll no wait below comes near
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    (sender,) = [job.__self__ for job in runtime.background if isinstance(getattr(job, "__self__", None), Dispatcher)]
    job = asyncio.create_task(sender.send_notifications())
    try:
        await asyncio.sleep(0.3)  # nothing queued: it sleeps
        case = await add_case(runtime)
        await queue_fact(runtime, case, rejected(case))
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
            with attempt:
                assert [row.status for row in await queued(runtime)] == ["sent"]
    finally:
        job.cancel()
        await runtime.engine.dispose()


async def test_the_sender_sleeps_until_a_failed_message_is_due_again(runtime) -> None:
    case = await add_case(runtime)
    await queue_fact(runtime, case, rejected(case))
    sms = Recorder(TemporaryFailure("SMS gateway answered HTTP 503"))
    sender = dispatcher(runtime, {Channel.sms: sms}, poll_seconds=60, retry_initial_seconds=0.2, retry_max_seconds=0.4)
    job = asyncio.create_task(sender.send_notifications())
    try:
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
            with attempt:
                assert [(row.status, row.attempts) for row in await queued(runtime)] == [("sent", 2)]
    finally:
        job.cancel()
    assert len(sms.sent) == 1
