"""Every service's ops endpoints (`/api/v1/ops/...`, scope `ops:admin`): its state (database, bus, relay, outbox,
held cases, the lag of each of its consumer groups, errors logged in the last hour), the dead letters of its own
consumer groups and replaying them, the cases its groups hold, its parked outbox rows and letting them go.

The same functions as `hub dlq`, `hub holds` and `hub outbox` do the work (`hub_shared.deadletters`,
`hub_shared.dlq_replay`, `hub_shared.consumer`, `hub_shared.messaging`). Nothing here returns a message's body
(an inbound command's body holds a citizen's personal data): headers, the reason and ids only, with any value a
validation error quoted taken out. Each action is written to the `hub.ops.audit` log: who, what, when."""

import asyncio
import logging
import re
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from hub_shared.auth import AUTH_RESPONSES, Principal, Scope, requires
from hub_shared.consumer import held_cases, release_holds
from hub_shared.deadletters import BrokerUnreachable, DeadLetter, LetterId, gather_letters
from hub_shared.dlq_replay import replay_letters
from hub_shared.jalali import as_utc
from hub_shared.messaging import parked_rows, release
from hub_shared.topics import DLQ

if TYPE_CHECKING:
    from hub_shared.service import Runtime

audit = logging.getLogger("hub.ops.audit")
ERROR_WINDOW_SECONDS = 3600
LAG_SECONDS = 5  # under the portal's wait for a service (HUB_WEB_UPSTREAM_TIMEOUT_SECONDS, 10 s)
SHOWN_HEADERS = re.compile(r"^(ce_|hub_dlq_|traceparent$)")
_QUOTED_VALUE = re.compile(r"input_value=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,\]\n]*)")
UNAVAILABLE = {503: {"description": "The broker did not answer; try again shortly"}}


def without_values(reason: str) -> str:
    """A failure's reason without the values a validation error quotes (they may be a citizen's data)."""
    return _QUOTED_VALUE.sub("input_value=…", reason)


class RecentErrors(logging.Handler):
    """Counts the ERROR lines this process logged in the last hour (the ops console's "recent errors")."""

    def __init__(self, clock=time.monotonic) -> None:
        super().__init__(level=logging.ERROR)
        self._clock, self._times = clock, deque(maxlen=100_000)

    def emit(self, record: logging.LogRecord) -> None:
        self._times.append(self._clock())

    def count(self) -> int:
        while self._times and self._clock() - self._times[0] > ERROR_WINDOW_SECONDS:
            self._times.popleft()
        return len(self._times)


class GroupLag(BaseModel):
    group: str
    topic: str
    lag: int | None = Field(description="records on the topic the group has not committed yet; null when the broker did not say")


class ServiceState(BaseModel):
    service: str
    checks: dict[str, str]
    outbox_pending: int | None
    outbox_parked: int | None
    held_cases: int | None
    groups: list[GroupLag]
    errors_last_hour: int


class Letter(BaseModel):
    id: str
    written_at: datetime
    consumer_group: str
    origin: str
    event_type: str
    subject: str
    attempts: int | None
    held_behind: str | None
    body_omitted: bool
    reason: str
    headers: list[tuple[str, str]]


class Letters(BaseModel):
    letters: list[Letter]


class Hold(BaseModel):
    group: str
    key: str
    first_event_id: str
    held_since: datetime
    reason: str


class ParkedRow(BaseModel):
    id: int
    topic: str
    key: str
    event_type: str
    parked_at: datetime
    error: str


class Replay(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=500, description="letter ids (`<partition>:<offset>` in the DLQ)")


class HoldRelease(BaseModel):
    group: str = Field(min_length=1, max_length=64)
    keys: list[str] = Field(min_length=1, max_length=500)


class OutboxRelease(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=500)


class Done(BaseModel):
    done: list[str]


def router(runtime: "Runtime") -> APIRouter:
    api = APIRouter(prefix="/api/v1/ops", tags=["ops"], responses=AUTH_RESPONSES)
    operator = requires(runtime.auth, Scope.ops_admin)
    Operator = Annotated[Principal, Depends(operator)]
    service = runtime.settings.service_name
    bootstrap = runtime.settings.kafka_bootstrap_servers
    errors = RecentErrors()
    logging.getLogger().addHandler(errors)

    def own_groups() -> dict[str, str]:
        return {sub.group: sub.topic for sub in runtime.subscriptions}

    def done(principal: Principal, action: str, targets: list[str]) -> Done:
        audit.info("ops %s in %s by %s (%s): %s", action, service, principal.subject, principal.role.value, ", ".join(targets),
                   extra={"actor": principal.subject, "role": principal.role.value, "action": action, "targets": targets,
                          "at": datetime.now(UTC).isoformat()})
        return Done(done=targets)

    @api.get("/state", response_model=ServiceState)
    async def state(_: Operator) -> ServiceState:
        """This service's health, outbox, held cases, the lag of each of its consumer groups and its recent errors."""
        checks = await runtime.checks()
        pending = parked = held = None
        if checks["database"] == "ok":
            pending, parked = await runtime.relay.pending_count(), await runtime.relay.parked_count()
            async with runtime.sessions() as session:
                held = len(await held_cases(session))
        return ServiceState(service=service, checks=checks, outbox_pending=pending, outbox_parked=parked, held_cases=held,
                            groups=await _lags(bootstrap, own_groups()), errors_last_hour=errors.count())

    @api.get("/dead-letters", response_model=Letters, responses=UNAVAILABLE)
    async def dead_letters(_: Operator, limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> Letters:
        """The dead letters of this service's consumer groups among the newest `limit` of each DLQ partition, oldest
        first: headers, reason and ids, never a body."""
        groups = own_groups()
        with _broker():
            listing = await gather_letters(bootstrap, limit=limit)
        return Letters(letters=[_letter(letter) for letter in listing.letters if letter.consumer_group in groups])

    @api.post("/dead-letters/replay", response_model=Done,
              responses={**UNAVAILABLE, 422: {"description": "A letter the DLQ no longer holds, or not this service's"}})
    async def replay(body: Replay, principal: Operator) -> Done:
        """Send these letters back to their origin topics (after the fix); consumers that applied one drop it."""
        try:
            wanted = [LetterId.parse(text) for text in body.ids]
        except ValueError as error:
            raise _unprocessable("not_a_letter", "شناسه نامه مرده نادرست است.", str(error)) from None
        with _broker():
            held = {letter.id: letter for letter in (await gather_letters(bootstrap)).letters}
            missing = [str(letter_id) for letter_id in wanted if letter_id not in held]
            if missing:
                raise _unprocessable("no_such_letter", "این نامه‌های مرده دیگر در صف نیستند؛ چیزی فرستاده نشد.",
                                     f"{DLQ.name} holds no letter {', '.join(missing)}; nothing replayed.")
            letters = [held[letter_id] for letter_id in dict.fromkeys(wanted)]
            foreign = [str(letter.id) for letter in letters if letter.consumer_group not in own_groups()]
            if foreign:
                raise _unprocessable("not_this_service", f"این نامه‌ها از مصرف‌کنندگان {service} نیستند.",
                                     f"Letters {', '.join(foreign)} did not fail in {service}'s consumer groups; nothing replayed.")
            sent = await replay_letters(bootstrap, letters, report=lambda _line: None)
        return done(principal, "dead-letters.replay", [str(letter.id) for letter in sent])

    @api.get("/holds", response_model=list[Hold])
    async def holds(_: Operator) -> list[Hold]:
        """The cases this service's consumer groups hold back behind a dead-lettered event, oldest first."""
        async with runtime.sessions() as session:
            rows = await held_cases(session)
        return [Hold(group=row.consumer, key=row.key, first_event_id=row.first_event_id, held_since=as_utc(row.held_since),
                     reason=without_values(row.reason)) for row in rows]

    @api.post("/holds/release", response_model=Done, responses={422: {"description": "A key the group does not hold"}})
    async def release_held(body: HoldRelease, principal: Operator) -> Done:
        """Let held cases go without their failed event: the group applies their next events as they come."""
        async with runtime.sessions() as session, session.begin():
            unknown = sorted(set(body.keys) - {row.key for row in await held_cases(session, body.group)})
            if unknown:
                raise _unprocessable("not_held", "این پرونده‌ها نگه داشته نشده‌اند؛ چیزی آزاد نشد.",
                                     f"Not held by {body.group} in {service}: {', '.join(unknown)}; nothing released.")
            released = await release_holds(session, body.group, body.keys)
        return done(principal, f"holds.release {body.group}", released)

    @api.get("/outbox/parked", response_model=list[ParkedRow])
    async def parked(_: Operator) -> list[ParkedRow]:
        """The outbox rows the broker refused for good, oldest first, with the error."""
        async with runtime.sessions() as session:
            rows = await parked_rows(session)
        return [ParkedRow(id=row.id, topic=row.topic, key=row.key, event_type=row.headers.get("ce_type", ""),
                          parked_at=as_utc(row.parked_at), error=without_values(row.last_error or "")) for row in rows]

    @api.post("/outbox/release", response_model=Done, responses={422: {"description": "A row that is not parked"}})
    async def release_parked(body: OutboxRelease, principal: Operator) -> Done:
        """Retry parked rows: the relay publishes them in id order (a row still refused parks again)."""
        async with runtime.sessions() as session, session.begin():
            unknown = sorted(set(body.ids) - {row.id for row in await parked_rows(session)})
            if unknown:
                raise _unprocessable("not_parked", "این ردیف‌ها در صف خروجی متوقف نیستند؛ چیزی آزاد نشد.",
                                     f"Not parked in {service}'s outbox: {', '.join(map(str, unknown))}; nothing released.")
            released = await release(session, body.ids)
        runtime.relay.notify()
        return done(principal, "outbox.release", [str(row_id) for row_id in released])

    return api


def _letter(letter: DeadLetter) -> Letter:
    return Letter(id=str(letter.id), written_at=letter.written_at, consumer_group=letter.consumer_group, origin=letter.origin,
                  event_type=letter.header("ce_type"), subject=letter.header("ce_subject"),
                  attempts=int(letter.dlq("attempts")) if letter.dlq("attempts").isdigit() else None,
                  held_behind=letter.dlq("held_behind") or None, body_omitted=bool(letter.body_omitted),
                  reason=without_values(letter.dlq("error")),
                  headers=[(name, without_values(letter.header(name))) for name, _ in letter.headers if SHOWN_HEADERS.match(name)])


async def _lags(bootstrap: str, groups: dict[str, str]) -> list[GroupLag]:
    """Each group's lag: the end offsets of its topic less what it committed (a partition it never committed counts
    whole). Read as the groups' own consumers read their offsets, without joining the groups; all groups at once,
    each given LAG_SECONDS, so a broker that is away leaves the page waiting no longer than that."""

    async def one(group: str, topic: str) -> GroupLag:
        try:
            lag = await asyncio.wait_for(_lag(bootstrap, group, topic), timeout=LAG_SECONDS)
        except (KafkaError, OSError, TimeoutError):
            lag = None
        return GroupLag(group=group, topic=topic, lag=lag)

    return list(await asyncio.gather(*(one(group, topic) for group, topic in sorted(groups.items()))))


async def _lag(bootstrap: str, group: str, topic: str) -> int:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, request_timeout_ms=5000)
    try:
        await reader.start()  # inside: a broker that is away still leaves the client closed
        await reader.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        ends = await reader.end_offsets(partitions) if partitions else {}
        lag = 0
        for tp, end in ends.items():
            lag += max(0, end - (await reader.committed(tp) or 0))
        return lag
    finally:
        await reader.stop()


class _broker:
    """The broker's failures as a 503 that says to try again."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _traceback) -> None:
        if isinstance(error, BrokerUnreachable | KafkaError | OSError):
            raise HTTPException(status_code=503, detail={
                "code": "broker_unavailable", "message_fa": "کارگزار پیام در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
                "message_en": f"The broker did not answer ({type(error).__name__}); try again shortly."}) from None


def _unprocessable(code: str, message_fa: str, message_en: str) -> HTTPException:
    return HTTPException(status_code=422, detail={"code": code, "message_fa": message_fa, "message_en": message_en})
