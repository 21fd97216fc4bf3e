"""The broker as a whole: which incarnation of it a process talks to, and the catalog's topics on it.

The embedded broker keeps messages in memory: when it dies, everything it held is gone, and the broker
that replaces it starts empty with a new cluster id (`hub_cli.stack.start_broker` gives each start its
own). The outbox relay stamps every row it publishes with the cluster id it published to and, when the
id changes, publishes again whatever went to the previous incarnation (consumers drop what they had by
event id). A durable cluster (Apache Kafka) keeps its id for life, so nothing is ever sent twice there.
"""

import asyncio
import logging
import random
from collections.abc import Iterable, Sequence
from typing import Any

import aiokafka.client
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

from hub_shared.topics import ALL_TOPICS

log = logging.getLogger(__name__)


class _CatalogTopicsOnly(MetadataRequest):
    """A metadata request that never makes the broker create the topics it names (Kafka's consumer setting
    `allow.auto.create.topics=false`, KIP-361, which aiokafka lacks: it always asks for creation). A topic a
    client asks about before the catalog's topics exist would otherwise be created with the broker's default
    partition count (4 on the embedded broker): a group would then share 4 partitions of a topic the catalog
    creates with 12, and never read the rest. Topics come from `create_topics` alone."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = False) -> None:
        super().__init__(topics, allow_auto_topic_creation)


aiokafka.client.MetadataRequest = _CatalogTopicsOnly  # every client of this process: producers, consumers, the identity's


class BrokerUnavailable(ConnectionError):
    """The broker did not say who it is: it is down, or not reachable from here."""


class TopicsMissing(LookupError):
    """The broker has not got the topics a service's consumers read (yet)."""


class BrokerIdentity:
    """Asks the broker for its cluster id over one small connection of its own."""

    def __init__(self, bootstrap_servers: str, timeout_seconds: float = 5) -> None:
        self._bootstrap = bootstrap_servers
        self._timeout = timeout_seconds
        self._client: AIOKafkaClient | None = None
        self._connecting = asyncio.Lock()  # one client, however many of a process's consumers ask at once
        self.first_answer: str | None = None  # the incarnation this process first found

    async def cluster_id(self) -> str:
        """The id of the broker answering now ('' from a broker too old to say)."""
        answer = await self._metadata([])
        cluster_id = getattr(answer, "cluster_id", None) or ""
        if self.first_answer is None:
            self.first_answer = cluster_id
        return cluster_id

    async def missing_topics(self, names: Iterable[str]) -> list[str]:
        """Which of `names` the broker does not have (asking creates none)."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        present = {topic[1] for topic in (await self._metadata(wanted)).topics if topic[0] == 0}  # (error, name, ...)
        return [name for name in wanted if name not in present]

    async def _metadata(self, topics: list[str]) -> Any:
        used: list[AIOKafkaClient] = []
        try:
            return await asyncio.wait_for(self._ask(used, topics), self._timeout)
        except (KafkaError, OSError, TimeoutError) as error:
            if used and used[0] is self._client:  # not one another caller has set up since
                await self.close()
            raise BrokerUnavailable(f"the broker at {self._bootstrap} did not answer: {type(error).__name__}") from error

    async def _ask(self, used: list[AIOKafkaClient], topics: list[str]) -> Any:
        async with self._connecting:
            if self._client is None:
                client = AIOKafkaClient(bootstrap_servers=self._bootstrap, request_timeout_ms=int(self._timeout * 1000),
                                        metadata_max_age_ms=3_600_000, client_id="hub-broker-identity")
                try:
                    await client.bootstrap()
                except BaseException:
                    await _close_quietly(client)
                    raise
                self._client = client
            client = self._client
        used.append(client)
        node = client.get_random_node()
        if node is None:
            raise KafkaError("no broker in the cluster metadata")
        return await client.send(node, _CatalogTopicsOnly(topics))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _close_quietly(client)


async def _close_quietly(client: AIOKafkaClient) -> None:
    try:
        await client.close()
    except Exception:  # a client whose broker died may fail to close cleanly; it is dropped either way
        log.debug("closing the broker-identity client failed", exc_info=True)


class IncarnationGuard(ConsumerRebalanceListener):
    """Keeps a consumer from reading one broker incarnation's log at the offsets of another.

    A consumer's positions are offsets in the log of the broker it read them from. When the embedded broker dies
    and a new, empty one takes its address, aiokafka's fetcher goes on from those positions before the group has
    rejoined: once the new log holds as many records as the old position, it reads from there and skips the new
    log's first records. A commit of those positions (one in flight when the broker died is retried until the new
    broker takes it) would make the skip stick: the rejoined group starts from it. A case filed while the broker
    was away could then never be routed.

    So before a batch is applied, and again before its offsets are committed, the guard asks whether the broker
    is still the incarnation the positions came from. Asking costs a metadata request, so it asks only when the
    consumer has opened a connection since it last asked (a new incarnation can only be reached over a new
    connection, and a steady consumer opens none) or has been given partitions since. When the incarnation
    changed, the consumer is rewound to the beginning of every partition it holds (everything in a new
    incarnation's log is new to it; what it had applied already is dropped by its inbox) and the batch in hand
    is dropped. It is the group's rebalance listener, and remembers which incarnation each partition was last
    committed to: a partition the group is given on another incarnation is rewound too, since its committed
    offset there may be the old positions' retried commit (tansu keeps no commit metadata to mark it).
    Before a consumer's first batch, the positions' incarnation is the one the service found when it joined the
    bus (`BusConnection`). Left open: an old-positions commit retried by a process that is then killed before its
    next batch, or by another replica of the group; the relay's own window (`hub_shared.outbox`) is of that kind."""

    def __init__(self, identity: BrokerIdentity) -> None:
        self._identity = identity
        self._epoch: str | None = None  # the incarnation this consumer's positions are offsets in
        self._known: frozenset[Any] = frozenset()  # the consumer's connections open when the broker was last asked
        self._committed_under: dict[TopicPartition, str] = {}  # the incarnation of each partition's last commit
        self._assigned: set[TopicPartition] = set()  # given since the broker was last asked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # no await: aiokafka calls this before any position of the new assignment is known, and the group waits
        self._assigned |= assigned

    async def rewound(self, consumer: Any, batch: Sequence[Any] = ()) -> bool:
        """True when `consumer` was rewound and `batch` (the records in hand) must be dropped: the partitions read
        at another incarnation's offsets start over from their beginning, the batch's other partitions from its
        first record of each, so dropping it skips nothing. Raises `BrokerUnavailable` when the broker cannot
        say who it is: the batch is then not applied, or not committed, and its records come again."""
        connections = _open_connections(consumer)
        if connections <= self._known and not self._assigned:
            return False
        epoch = await self._identity.cluster_id()
        self._known = connections
        assigned = consumer.assignment()
        replaced = self._note(epoch)
        stale = set(assigned) if replaced else {
            partition for partition in self._assigned & assigned if self._committed_under.get(partition, epoch) != epoch}
        self._assigned.clear()
        if not stale:
            return replaced
        firsts: dict[TopicPartition, int] = {}
        for record in batch:
            partition = TopicPartition(record.topic, record.partition)
            firsts[partition] = min(record.offset, firsts.get(partition, record.offset))
        for partition, offset in firsts.items():
            if partition in assigned and partition not in stale:
                consumer.seek(partition, offset)
        log.warning("%d partitions start over from the beginning of broker incarnation %s", len(stale), epoch)
        try:
            await consumer.seek_to_beginning(*stale)
        except Exception as error:  # requested before the wait; a rebalance or a pending group error cut it short
            log.error("rewinding %d partitions to the broker's beginning was cut short: %s", len(stale), error)
        return True

    async def commit(self, message: Any, rewound: bool = False) -> None:
        """Commit the consumer's positions now, through FastStream's ack (which then has nothing left to do), and
        note the incarnation of each partition committed. After `rewound` returned True the positions are the
        rewound ones: a failed commit is then left to FastStream's own ack, since the nack that follows a raise
        would seek the rewound partitions forward again."""
        consumer = message.consumer
        committed = _consumed_partitions(consumer)
        try:
            await message.ack()
        except Exception as error:
            if not rewound:
                raise  # the batch is nacked: it comes again, and its inbox drops what was applied
            log.warning("committing the rewound positions failed (%s); the next batch commits them", error)
            return
        if self._epoch is not None:
            for partition in committed:
                self._committed_under[partition] = self._epoch

    def _note(self, epoch: str) -> bool:
        """Take `epoch` as the positions' incarnation; True when it replaces another (before the first batch: the one
        the service joined the bus on)."""
        before = self._epoch or self._identity.first_answer
        replaced = before is not None and epoch != before
        if replaced:
            log.warning("broker incarnation %s replaces %s", epoch, before)
        self._epoch = epoch
        return replaced


def _consumed_partitions(consumer: Any) -> list[TopicPartition]:
    """The partitions whose positions `consumer.commit()` commits: those with a valid position (aiokafka's own rule;
    no public view of it); none for the in-memory test broker's consumer."""
    subscription = getattr(getattr(consumer, "_subscription", None), "subscription", None)
    if subscription is None or subscription.assignment is None:
        return []
    return list(subscription.assignment.all_consumed_offsets())


def _open_connections(consumer: Any) -> frozenset[Any]:
    """The broker connections of an aiokafka consumer's client (none for a consumer that has no client, as in the
    in-memory test broker). aiokafka offers no public view of them; its pinned version keeps them in `_conns`."""
    connections = getattr(getattr(consumer, "_client", None), "_conns", None) or {}
    return frozenset(connection for connection in connections.values() if connection.connected())


async def create_topics(bootstrap: str, replication: int = 1) -> list[str]:
    """Create every catalog topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t.name, t.partitions, replication) for t in ALL_TOPICS if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in missing]
    finally:
        await admin.close()


class BusConnection:
    """The service's link to the broker, made in the background so that HTTP serves from the first second.

    While the broker is away the producer and consumers keep trying on their own (aiokafka reconnects);
    this only makes the first connection, with back-off, and says how the bus stands for readiness. The
    subscribers start together: each waits for its group to give it partitions, and one group's join
    should not wait for another's.
    """

    def __init__(self, broker: Any, first_retry_seconds: float = 0.5, max_retry_seconds: float = 10,
                 identity: BrokerIdentity | None = None) -> None:
        self._broker = broker
        self._identity = identity  # asked before the consumers join: the incarnation their first positions are in
        self._first_retry = first_retry_seconds
        self._max_retry = max_retry_seconds
        self._task: asyncio.Task | None = None
        self._connected = False
        self._last_error = ""

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="bus-connection")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._broker.stop()

    async def _connect(self) -> None:
        delay = self._first_retry
        while True:
            try:
                await self._broker.connect()
                if self._identity is not None:
                    await self._identity.cluster_id()
                    await self._topics_exist()
                results = await asyncio.gather(*(sub.start() for sub in self._broker.subscribers), return_exceptions=True)
                failed = next((result for result in results if isinstance(result, BaseException)), None)
                if failed is not None:
                    raise failed
                for publisher in self._broker.publishers:
                    await publisher.start()
                self._broker.running = True
                self._connected = True
                log.info("joined the bus: %d consumer(s) running", len(self._broker.subscribers))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._last_error = f"{type(error).__name__}: {error}"[:300]
                log.warning("the bus is not reachable (%s); trying again in %.1f s", self._last_error, delay)
                await self._tear_down()
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._max_retry)

    async def _topics_exist(self) -> None:
        """Join only once the broker has every topic the consumers read: asking creates none, and a group that
        joined before its topic existed would wait for aiokafka's next metadata refresh (5 minutes). The relays and
        `hub up` create the catalog's topics; until then this tries again with the usual back-off."""
        wanted = [name for sub in self._broker.subscribers for name in getattr(sub, "topic_names_for_subscribe", [])]
        if missing := await self._identity.missing_topics(wanted):
            raise TopicsMissing(f"topics not on the broker yet: {', '.join(missing)}")

    async def _tear_down(self) -> None:
        try:
            await self._broker.stop()
        except Exception:
            log.debug("stopping a half-made bus connection failed", exc_info=True)

    async def state(self) -> str:
        """'ok' when connected, the broker answers and every consumer group has given this process its share."""
        if not (self._connected or getattr(self._broker, "running", False)):  # started here, or by a caller directly
            return f"connecting: {self._last_error or 'joining the consumer groups'}"
        if not await self._broker.ping(timeout=2.0):
            return "failed: the broker does not answer; reconnecting"
        joining = [getattr(sub, "title_", None) or str(sub) for sub in self._broker.subscribers if not _joined(sub)]
        return f"joining: {', '.join(joining)}" if joining else "ok"


def _joined(subscriber: Any) -> bool:
    """Whether the subscriber's consumer holds an assignment from its group (possibly empty, for a replica
    beyond the partition count), read from aiokafka's subscription state."""
    consumer = getattr(subscriber, "consumer", None)
    if consumer is None:
        return False
    subscription = getattr(getattr(consumer, "_subscription", None), "subscription", None)
    return subscription is not None and subscription.assignment is not None
