"""Benchmarks of the embedded default, printed as numbers.

1. raw broker rate: FastStream publish -> batch consume of 300-byte messages through tansu;
2. pipeline rate: cases/s from `POST /api/v1/cases` to the status read model (all cases referred);
3. latency: p50/p99 from submission to the `case routed` event on the bus, at a fixed offered load;
4. registrations/s at intake alone: through HTTP (201s received) and through the bus (SubmitCase
   commands on hub.inbound.v1 until intake has stored them all);
and the ratio of the pipeline rate to the raw broker rate.

    ./hub bench [--raw-messages 50000] [--cases 2000] [--rate 50] [--seconds 20] [--registrations 2000]
"""

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub_cli.stack import SERVICES, Stack, ensure_topics, free_port, start_broker
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import Channel, Identity, SourceRef, SubmitCase, Target
from hub_shared.testing import random_national_id

SUBMISSION = {
    "kind": "complaint", "full_name": "سنجش کارایی", "phone": "09120000000",
    "address": "تهران، خیابان آزمون، پلاک ۱", "subject": "سنجش", "description": "پرونده‌ای برای سنجش توان سامانه.",
    "target": {"agency": "labour", "province": "tehran", "county": "rey"},
}


def submission() -> dict:
    """Each from another citizen: one citizen's repeated matter would be linked, not registered."""
    return {**SUBMISSION, "national_id": random_national_id()}


async def raw_broker_rate(bootstrap: str, count: int) -> float:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw", 6, 1)])
    await admin.close()
    broker = KafkaBroker(bootstrap, linger_ms=5, log_level=10)
    received = 0
    done = asyncio.Event()

    @broker.subscriber("bench.raw", group_id="bench", batch=True, max_records=1000, auto_offset_reset="earliest",
                       ack_policy=AckPolicy.ACK, fetch_max_wait_ms=50, session_timeout_ms=6000, heartbeat_interval_ms=300)
    async def consume(body: list[bytes]) -> None:
        nonlocal received
        received += len(body)
        if received >= count:
            done.set()

    await broker.start()
    payload = b"x" * 300
    started = time.perf_counter()
    for start in range(0, count, 500):
        futures = [await broker.publish(payload, "bench.raw", key=str(i % 64).encode(), no_confirm=True)
                   for i in range(start, min(start + 500, count))]
        await asyncio.gather(*futures)
    await asyncio.wait_for(done.wait(), timeout=120)
    elapsed = time.perf_counter() - started
    await broker.stop()
    return count / elapsed


async def submit(client: httpx.AsyncClient, url: str) -> tuple[str, float]:
    sent = time.perf_counter()
    response = await client.post(url, json=submission())
    response.raise_for_status()
    return response.json()["case_id"], sent


async def submit_many(stack: Stack, count: int, concurrency: int = 32) -> None:
    """POST `count` cases to intake, `concurrency` at a time; return when every 201 is in."""
    url = f"{stack.url('intake')}/api/v1/cases"
    limits = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:
        async def one() -> None:
            async with limits:
                await submit(client, url)

        await asyncio.gather(*(one() for _ in range(count)))


async def pipeline_rate(stack: Stack, cases: int) -> float:
    started = time.perf_counter()
    await submit_many(stack, cases)
    while _referred(stack.data_dir / "reporting.db") < cases:
        await asyncio.sleep(0.05)
    return cases / (time.perf_counter() - started)


def _referred(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM reporting_case_status WHERE status = 'referred'").fetchone()[0]


async def routed_latency(stack: Stack, rate: float, seconds: float) -> list[float]:
    """Offer `rate` cases/s for `seconds`; return seconds from each submission to its `case routed` on the bus."""
    consumer = AIOKafkaConsumer("hub.cases.v1", bootstrap_servers=stack.bootstrap, group_id=None,
                                auto_offset_reset="latest", fetch_max_wait_ms=10)
    await consumer.start()
    await consumer.getmany(timeout_ms=500)
    sent_at: dict[str, float] = {}
    routed_at: dict[str, float] = {}

    async def watch() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=50)).values():
                now = time.perf_counter()
                for record in records:
                    if dict(record.headers).get("ce_type") == b"ir.hub.case.routed.v1":
                        routed_at[record.key.decode()] = now

    watcher = asyncio.create_task(watch())
    url = f"{stack.url('intake')}/api/v1/cases"
    async with httpx.AsyncClient(timeout=30) as client:
        tasks = []
        interval = 1 / rate
        begin = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, begin + i * interval - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(client, url)))
        for case_id, sent in await asyncio.gather(*tasks):
            sent_at[case_id] = sent
    deadline = time.perf_counter() + 30
    while len(routed_at.keys() & sent_at.keys()) < len(sent_at) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    watcher.cancel()
    await consumer.stop()
    missing = len(sent_at) - len(routed_at.keys() & sent_at.keys())
    if missing:
        print(f"warning: {missing} cases not routed within 30 s", file=sys.stderr)
    return sorted(routed_at[c] - sent_at[c] for c in sent_at if c in routed_at)


async def http_registrations(stack: Stack, count: int) -> float:
    started = time.perf_counter()
    await submit_many(stack, count)
    return count / (time.perf_counter() - started)


async def bus_registrations(stack: Stack, count: int) -> float:
    """Publish `count` SubmitCase commands as a SAMAD gateway would; time until intake has stored them all."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    batch = f"bench-{time.time_ns()}"
    started = time.perf_counter()
    try:
        sends = []
        for n in range(count):
            body = submission()
            command = SubmitCase(source=SourceRef(system="samad-gateway", ref=f"{batch}-{n}"), channel=Channel.samad,
                                 kind=body["kind"], identity=Identity(**{f: body[f] for f in ("full_name", "national_id", "phone", "address")}),
                                 title=body["subject"], description=body["description"], target=Target(**body["target"]))
            key, value, headers = to_kafka(wrap(command, "/bench"))
            sends.append(await producer.send("hub.inbound.v1", value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    database = stack.data_dir / "intake.db"
    while _stored(database, batch) < count:
        await asyncio.sleep(0.05)
    return count / (time.perf_counter() - started)


def _stored(database: Path, batch: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM intake_case WHERE external_ref LIKE ?", (f"{batch}-%",)).fetchone()[0]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw-messages", type=int, default=50_000)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0, help="offered load for the latency run, cases/s")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--registrations", type=int, default=2000, help="cases for the intake-only runs")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    port = free_port()
    broker = start_broker(port, data_dir / "logs" / "broker.log")
    bootstrap = f"127.0.0.1:{port}"
    stack = Stack(data_dir=data_dir, bootstrap=bootstrap, env={"HUB_KAFKA_PROFILE": "test", "HUB_LOG_LEVEL": "WARNING",
                                                                "HUB_PUBLIC_REQUESTS_PER_MINUTE": "100000000",
                                                                "HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY": "100000000"})
    try:
        raw = asyncio.run(raw_broker_rate(bootstrap, args.raw_messages))
        print(f"raw broker rate      {raw:10.0f} msg/s   ({args.raw_messages} x 300 B, FastStream publish -> batch consume)")
        ensure_topics(bootstrap)
        for spec in SERVICES:
            stack.start_service(spec, port=free_port())
        stack.wait_ready(timeout=120)
        pipeline = asyncio.run(pipeline_rate(stack, args.cases))
        print(f"pipeline rate        {pipeline:10.1f} cases/s ({args.cases} cases, HTTP submission -> status read model, 32 concurrent)")
        latencies = asyncio.run(routed_latency(stack, args.rate, args.seconds))
        print(f"submission -> routed p50 {percentile(latencies, 50) * 1000:7.1f} ms   p99 {percentile(latencies, 99) * 1000:7.1f} ms"
              f"   ({len(latencies)} cases at {args.rate:.0f} cases/s offered)")
        print(f"ratio pipeline/raw   {pipeline / raw:10.4f}   (each case is ~3 events and 4 consumer transactions)")
        over_http = asyncio.run(http_registrations(stack, args.registrations))
        print(f"intake via HTTP      {over_http:10.1f} registrations/s ({args.registrations} cases, 32 concurrent, 201 received)")
        over_bus = asyncio.run(bus_registrations(stack, args.registrations))
        print(f"intake via the bus   {over_bus:10.1f} registrations/s ({args.registrations} SubmitCase commands -> stored)")
    finally:
        stack.stop()
        broker.terminate()
        broker.wait(10)
    print(f"logs: {data_dir / 'logs'}")


if __name__ == "__main__":
    main()
