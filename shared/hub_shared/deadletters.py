"""Reading the dead letters on `hub.dlq.v1`, without a consumer group: for `hub dlq list|show` and for each
service's ops API (`hub_shared.ops_api`), which shows the letters of its own consumer groups.

The reader assigns the partitions itself and reads from each partition's start up to the end offset it saw
when it began, so looking never moves the replay group's offsets (`hub dlq replay` still finds every
letter) and never waits on an empty or idle topic. A letter's ID is `<partition>:<offset>` in the DLQ:
stable for as long as the topic retains the letter, and short enough to type.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from hub_shared.topics import BODY_OMITTED, DLQ, DLQ_HEADER_PREFIX

FETCH_SECONDS = 30  # a broker that answered metadata but then stalls: give up rather than hang the terminal
REQUEST_MS = 10_000


class BrokerUnreachable(Exception):
    """The broker did not answer (or the DLQ could not be read from it)."""


class NoSuchLetter(Exception):
    """The ID names no letter the DLQ holds."""


@dataclass(frozen=True)
class LetterId:
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> "LetterId":
        """`2:17` → partition 2, offset 17; ValueError for anything else."""
        partition, sep, offset = text.strip().partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValueError(f"not a dead letter ID: {text!r} (IDs look like 2:17, <partition>:<offset>; see `hub dlq list`)")
        return cls(int(partition), int(offset))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class DeadLetter:
    id: LetterId
    written_at: datetime
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    body: bytes

    @classmethod
    def of(cls, record: ConsumerRecord) -> "DeadLetter":
        return cls(LetterId(record.partition, record.offset), datetime.fromtimestamp(record.timestamp / 1000, UTC),
                   record.key, tuple(record.headers or ()), record.value or b"")

    def header(self, name: str) -> str:
        """A header as text ('' when absent); a header may hold bytes that are not UTF-8."""
        for key, value in self.headers:
            if key == name:
                return (value or b"").decode("utf-8", errors="replace")
        return ""

    def dlq(self, field: str) -> str:
        return self.header(DLQ_HEADER_PREFIX + field)

    @property
    def consumer_group(self) -> str:
        return self.dlq("consumer_group")

    @property
    def origin(self) -> str:
        topic, partition, offset = self.dlq("origin_topic"), self.dlq("origin_partition"), self.dlq("origin_offset")
        return f"{topic or '?'}/{partition or '?'}@{offset or '?'}"

    @property
    def body_omitted(self) -> str:
        """Why the DLQ holds this letter without its body ('' when it has it)."""
        return self.header(BODY_OMITTED)

    def age(self, now: datetime) -> str:
        return human_age(now - self.written_at)

    def summary(self, now: datetime) -> dict:
        """The letter as `hub dlq list --json` prints it: the reason in full, no body."""
        return {
            "id": str(self.id), "partition": self.id.partition, "offset": self.id.offset,
            "written_at": self.written_at.isoformat(), "age_seconds": int((now - self.written_at).total_seconds()),
            "consumer_group": self.consumer_group, "error": self.dlq("error"),
            "origin": {"topic": self.dlq("origin_topic"), "partition": _number(self.dlq("origin_partition")),
                       "offset": _number(self.dlq("origin_offset"))},
            "event_type": self.header("ce_type"), "subject": self.header("ce_subject"),
            "attempts": _number(self.dlq("attempts")), "held_behind": self.dlq("held_behind") or None,
            "body_omitted": self.body_omitted or None,
        }

    def body_text(self) -> tuple[str, object | None]:
        """The body as text, and parsed when it is JSON (else None)."""
        text = self.body.decode("utf-8", errors="backslashreplace")
        try:
            return text, json.loads(self.body)
        except ValueError:
            return text, None


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def human_age(elapsed) -> str:
    """`45s`, `12m`, `3h 05m`, `2d 04h`: enough to tell a letter from this morning from last week's."""
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes}m"
    if days < 1:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24:02d}h"


def shorten(text: str, width: int = 80) -> str:
    """The first line of an error, cut to `width`: a list row stays one row; `show` has the rest."""
    whole = text.strip()
    first = whole.splitlines()[0] if whole else ""
    if len(first) > width:
        return first[: width - 1].rstrip() + "…"
    return first if first == whole else first + " …"


@dataclass(frozen=True)
class Listing:
    letters: list[DeadLetter]  # oldest first
    held: int  # how many records the DLQ holds in all (before any filter)


def list_letters(bootstrap: str, group: str | None = None, limit: int = 0) -> Listing:
    """The letters (of `group` only, if given), the `limit` most recent when limit > 0, oldest first."""
    return asyncio.run(gather_letters(bootstrap, group, limit))


def find_letter(bootstrap: str, letter_id: LetterId) -> DeadLetter:
    return asyncio.run(fetch_letter(bootstrap, letter_id))


async def gather_letters(bootstrap: str, group: str | None = None, limit: int = 0) -> Listing:
    async with _reader(bootstrap) as reader:
        starts, ends = await _bounds(reader)
        held = sum(ends[tp] - starts[tp] for tp in ends)
        if limit and not group:
            # The newest `limit` letters overall are among the newest `limit` of each partition: read only those.
            starts = {tp: max(starts[tp], ends[tp] - limit) for tp in ends}
        records = await _read(reader, starts, ends)
    letters = sorted((DeadLetter.of(r) for r in records), key=lambda letter: (letter.written_at, str(letter.id)))
    if group:
        letters = [letter for letter in letters if letter.consumer_group == group]
    return Listing(letters[-limit:] if limit else letters, held)


async def fetch_letter(bootstrap: str, letter_id: LetterId) -> DeadLetter:
    async with _reader(bootstrap) as reader:
        starts, ends = await _bounds(reader)
        partition = TopicPartition(DLQ.name, letter_id.partition)
        if partition not in ends or not starts[partition] <= letter_id.offset < ends[partition]:
            raise NoSuchLetter(_not_held(letter_id, starts, ends))
        records = await _read(reader, {partition: letter_id.offset}, {partition: letter_id.offset + 1})
    found = [record for record in records if record.offset == letter_id.offset]
    if not found:  # the offset held a transaction marker, or was compacted away
        raise NoSuchLetter(f"no dead letter {letter_id} on {DLQ.name}")
    return DeadLetter.of(found[0])


def _not_held(letter_id: LetterId, starts: dict, ends: dict) -> str:
    partitions = sorted(tp.partition for tp in ends)
    if letter_id.partition not in partitions:
        return f"no dead letter {letter_id}: {DLQ.name} has partitions {', '.join(map(str, partitions))}"
    tp = TopicPartition(DLQ.name, letter_id.partition)
    held = f"offsets {starts[tp]} to {ends[tp] - 1}" if ends[tp] > starts[tp] else "no letters"
    return f"no dead letter {letter_id}: partition {letter_id.partition} of {DLQ.name} holds {held}"


class _reader:
    """A started group-less consumer; broker failures surface as BrokerUnreachable."""

    def __init__(self, bootstrap: str) -> None:
        # The client logs each failed connection attempt; the command reports the failure once, in one line.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        self.bootstrap = bootstrap
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                         request_timeout_ms=REQUEST_MS, fetch_max_wait_ms=100)

    async def __aenter__(self) -> AIOKafkaConsumer:
        try:
            await self.consumer.start()
        except (KafkaError, OSError) as error:
            await self.consumer.stop()
            raise BrokerUnreachable(f"the broker at {self.bootstrap} did not answer ({type(error).__name__}); "
                                    "is the hub up? (--bootstrap or KAFKA_BOOTSTRAP_SERVERS)") from None
        return self.consumer

    async def __aexit__(self, kind, error, _traceback) -> None:
        await self.consumer.stop()
        if isinstance(error, KafkaError | asyncio.TimeoutError):
            raise BrokerUnreachable(f"reading {DLQ.name} from {self.bootstrap} failed ({type(error).__name__})") from None


async def _bounds(reader: AIOKafkaConsumer) -> tuple[dict, dict]:
    """Each DLQ partition's first and next offset, as of now; empty when the topic does not exist."""
    if DLQ.name not in await reader.topics():  # topics() refreshes the metadata
        return {}, {}
    partitions = [TopicPartition(DLQ.name, p) for p in sorted(reader.partitions_for_topic(DLQ.name) or ())]
    return await reader.beginning_offsets(partitions), await reader.end_offsets(partitions)


async def _read(reader: AIOKafkaConsumer, starts: dict, ends: dict) -> list[ConsumerRecord]:
    """Every record from `starts` up to (not including) `ends`, partition by partition offset."""
    wanted = {tp for tp in ends if starts[tp] < ends[tp]}
    if not wanted:
        return []
    reader.assign(sorted(wanted, key=lambda tp: tp.partition))
    for tp in wanted:
        reader.seek(tp, starts[tp])
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(FETCH_SECONDS):
        while wanted:
            batches = await reader.getmany(*wanted, timeout_ms=500)
            for tp, batch in batches.items():
                records += [record for record in batch if record.offset < ends[tp]]
            # The position, not the last record, says when a partition is done: markers and gaps take offsets too.
            done = {tp for tp in wanted if await reader.position(tp) >= ends[tp]}
            for tp in done:
                reader.pause(tp)
            wanted -= done
    return records
