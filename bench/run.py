"""Throughput benchmarks, for the embedded default (SQLite) and for PostgreSQL, printed as numbers and,
per target, met or not met.

Per store, each phase on a fresh broker and fresh databases:
1. intake alone (the other four services not running): HTTP registrations/s (201s received, `wrk`
   closed loop) and bus registrations/s (SubmitCase commands on hub.inbound.v1 until all are stored);
2. the whole hub: the idle CPU of every process over `--idle-seconds` before any load; the pipeline,
   `wrk` filing for `--seconds`, counted until every accepted case is routed, timed and in the read
   model; submission -> `case routed` latency at 100 cases/s offered; visit ratings/s ingested and
   visible in the satisfaction rows; overload: 3x the measured pipeline rate offered for 30 s (how long
   requests waited, what the excess was answered, whether every accepted case arrived, how soon the
   backlog drained and latency came back); resident memory of each service at the end.
Once per run: the raw broker rate, and the generators' own ceilings against an endpoint that does nothing.

    ./hub bench [--stores sqlite,postgres] [--seconds 60] [--intake-seconds 20] [--bus-commands 5000]
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402
from chaos import Databases  # noqa: E402
from idle import cpu_seconds, measure_idle  # noqa: E402

from hub_cli.main import service_env  # noqa: E402
from hub_cli.stack import SERVICES, Stack, ensure_topics, free_port, start_broker  # noqa: E402
from hub_shared.envelope import to_kafka, wrap  # noqa: E402
from hub_shared.events import Channel, Identity, SourceRef, SubmitCase, Target  # noqa: E402

BENCH = Path(__file__).resolve().parent
LIFTED_LIMITS = {"HUB_KAFKA_PROFILE": "embedded", "HUB_LOG_LEVEL": "WARNING", "HUB_SIMULATORS": "off",
                 "HUB_PUBLIC_REQUESTS_PER_MINUTE": "100000000", "HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY": "100000000",
                 "HUB_INTAKE_RATING_RELEASE_SECONDS": "1", "HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR": "100000000"}
TARGETS = {  # figure: (target, per store or None, higher is better)
    "intake_http": ({"postgres": 500, "sqlite": 300}, True),
    "intake_bus": ({"postgres": 500, "sqlite": 500}, True),
    "pipeline": ({"postgres": 300, "sqlite": 200}, True),
    "ratio": ({"postgres": 0.015, "sqlite": 0.015}, True),
    "routed_p99_ms": ({"postgres": 250, "sqlite": 250}, False),
    "ratings": ({"postgres": 1000, "sqlite": 1000}, True),
    "idle_cpu_percent": ({"postgres": 5, "sqlite": 5}, False),
    "max_rss_mb": ({"postgres": 300, "sqlite": 300}, False),
}


@dataclass
class Hub:
    """One phase's broker, services and databases."""

    store: str
    only: list[str] | None = None
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hub-bench-")))
    template: str = ""

    def __enter__(self) -> "Hub":
        if self.store == "postgres":
            self.template = f"postgresql+asyncpg://postgres@127.0.0.1:5432/hub_bench_{uuid.uuid4().hex[:6]}_{{service}}"
        port = free_port()
        self.broker = start_broker(port, self.data_dir / "logs" / "broker.log")
        self.bootstrap = f"127.0.0.1:{port}"
        ensure_topics(self.bootstrap)
        self.stack = Stack(data_dir=self.data_dir, bootstrap=self.bootstrap, env=LIFTED_LIMITS)
        for spec in SERVICES:
            if self.only is None or spec.name in self.only:
                self.stack.start_service(spec, port=free_port(), extra_env=service_env(spec.name, self.template))
        self.stack.wait_ready(timeout=120)
        self.db = Databases(self.data_dir, self.template)
        return self

    def __exit__(self, kind, *_) -> None:
        self.stack.stop()
        self.broker.terminate()
        self.broker.wait(10)
        self.db.drop()  # the phase's PostgreSQL databases, on the shared server
        if kind is None:  # its files (SQLite databases, logs, traces: 100-500 MB a phase); kept when the phase failed
            shutil.rmtree(self.data_dir, ignore_errors=True)
        else:
            print(f"  the failed phase's logs and traces: {self.data_dir}", file=sys.stderr)

    def count(self, service: str, sql: str) -> int:
        return self.db.rows(service, sql)[0][0]

    def pids(self) -> dict[str, int]:
        return {"broker": self.broker.pid, **{name: process.pid for name, process in self.stack.processes.items()}}


def wrk(url: str, seconds: float, body: str = "case", connections: int = 32) -> dict:
    """`wrk` closed loop: `connections` requests in flight for `seconds`; the script's JSON line."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(BENCH / "wrk" / "cases.lua"),
                          url, "--", body], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    return result


async def raw_broker_rate(bootstrap: str, count: int) -> float:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw", 6, 1)])
    await admin.close()
    broker = KafkaBroker(bootstrap, linger_ms=5, logger=None)
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


def wait_until(done, timeout: float) -> float | None:
    """Seconds until `done()` is true, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if done():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def settle(hub: Hub, timeout: float = 300) -> None:
    """Wait until every case intake holds is in the read model, every service's outbox is sent and intake has sent
    the citizens' messages, so one phase's backlog does not load the next (the 25,000 messages of a 60-s pipeline
    run kept intake busy through the latency run that followed it). A filing linked to an earlier case of the same
    citizen and matter (the load's national IDs are random: among 15,000 filings two share one with a chance of
    about one in ten) is answered 200 and never routed on its own, so it is not waited for."""
    registered = "SELECT count(*) FROM intake_case WHERE status <> 'linked'"
    unsent = "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"

    def left() -> dict[str, object]:
        backlog = {"registered, arrived": (hub.count("intake", registered), arrived(hub)),
                   "messages to citizens": hub.count("intake", "SELECT count(*) FROM intake_notification WHERE status = 'pending'"),
                   "outboxes": {service: hub.count(service, unsent) for service in hub.stack.processes}}
        return backlog

    def drained() -> bool:
        backlog = left()
        return (min(backlog["registered, arrived"][1]) >= backlog["registered, arrived"][0]
                and backlog["messages to citizens"] == 0 and not any(backlog["outboxes"].values()))

    if wait_until(drained, timeout) is None:
        print(f"  warning: the backlog did not drain within {timeout:.0f} s: {left()}", file=sys.stderr)


def arrived(hub: Hub) -> tuple[int, int, int]:
    """Cases routed (routing), timed (followup) and referred in the read model (reporting)."""
    return (hub.count("routing", "SELECT count(*) FROM routing_referral"),
            hub.count("followup", "SELECT count(DISTINCT case_id) FROM followup_timer"),
            hub.count("reporting", "SELECT count(*) FROM reporting_case_status WHERE status = 'referred'"))


async def bus_registrations(hub: Hub, count: int) -> float:
    """Publish `count` SubmitCase commands as a SAMAD gateway would; time until intake has stored them all."""
    producer = AIOKafkaProducer(bootstrap_servers=hub.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    batch = f"bench-{time.time_ns()}"
    started = time.perf_counter()
    try:
        sends = []
        for n in range(count):
            body = load.submission()
            command = SubmitCase(source=SourceRef(system="samad-gateway", ref=f"{batch}-{n}"), channel=Channel.samad,
                                 kind=body["kind"], identity=Identity(**{f: body[f] for f in ("full_name", "national_id", "phone", "address")}),
                                 title=body["subject"], description=body["description"], target=Target(**body["target"]))
            key, value, headers = to_kafka(wrap(command, "/bench"))
            sends.append(await producer.send("hub.inbound.v1", value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    stored = f"SELECT count(*) FROM intake_case WHERE external_ref LIKE '{batch}-%'"
    while hub.count("intake", stored) < count:
        await asyncio.sleep(0.1)
    return count / (time.perf_counter() - started)


async def routed_latency(bootstrap: str, intake_url: str, rate: float, seconds: float) -> list[tuple[float, float]]:
    """Offer `rate` cases/s for `seconds`; when each case was sent, and the seconds to its `case routed` on the bus."""
    consumer = AIOKafkaConsumer("hub.cases.v1", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest",
                                fetch_max_wait_ms=10)
    await consumer.start()
    await consumer.getmany(timeout_ms=500)
    routed_at: dict[str, float] = {}

    async def watch() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=50)).values():
                now = time.time()
                for record in records:
                    if dict(record.headers).get("ce_type") == b"ir.hub.case.routed.v1":
                        routed_at[record.key.decode()] = now

    watcher = asyncio.create_task(watch())
    answers = await asyncio.to_thread(load.opened, f"{intake_url}/api/v1/cases", "case", seconds, rate)
    sent_at = {a.case_id: a.at for a in answers if a.status == 201}  # not a filing linked to an earlier case (200)
    deadline = time.monotonic() + 30
    while len(routed_at.keys() & sent_at.keys()) < len(sent_at) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    watcher.cancel()
    await consumer.stop()
    missing = len(sent_at) - len(routed_at.keys() & sent_at.keys())
    if missing:
        print(f"  warning: {missing} of {len(sent_at)} cases not routed within 30 s", file=sys.stderr)
    return sorted((sent_at[c], routed_at[c] - sent_at[c]) for c in sent_at if c in routed_at)


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def idle_cpu(hub: Hub, seconds: float) -> dict[str, float]:
    """Percent of one core each process used while nothing was asked of the hub."""
    return measure_idle(hub.pids(), seconds)


def cpu_by_process(hub: Hub) -> dict[str, float]:
    """CPU seconds used so far by the broker, each service and (on PostgreSQL) the database server's processes."""
    spent = {name: cpu_seconds(pid) for name, pid in hub.pids().items()}
    if hub.store == "postgres":
        spent["postgresql"] = _postgres_cpu_seconds()
    return spent


def _postgres_cpu_seconds() -> float:
    """The local server's processes; a backend that ended during the run takes its CPU with it (the services pool
    their connections, so few do)."""
    spent = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                spent += cpu_seconds(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
    return spent


def print_cpu_per_case(spent: dict[str, float], cases: int) -> None:
    """Where the pipeline's CPU went, per case, and the rate the machine's cores would allow at that cost (the load
    generator's own share not counted): the budget a target on this machine has to fit."""
    per_case = {name: 1000 * seconds / max(cases, 1) for name, seconds in spent.items()}
    total = sum(per_case.values())
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / max(total, 1e-9)
    print("  CPU per case               " + ", ".join(f"{name} {ms:.2f}" for name, ms in per_case.items())
          + f" ms; {total:.2f} ms in all: {cores} cores allow at most {ceiling:.0f} cases/s at this cost", flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def intake_alone(store: str, args, out: dict) -> None:
    with Hub(store, only=["intake"]) as hub:
        result = wrk(f"{hub.stack.url('intake')}/api/v1/cases", args.intake_seconds)
        out["intake_http"] = result["statuses"].get(201, 0) / result["seconds"]
        print(f"  intake alone, HTTP         {out['intake_http']:8.1f} registrations/s   (wrk, 32 connections, {args.intake_seconds:.0f} s;"
              f" answers {result['statuses']}, p99 {result['p99_ms']:.0f} ms)", flush=True)
        out["intake_bus"] = asyncio.run(bus_registrations(hub, args.bus_commands))
        print(f"  intake alone, bus          {out['intake_bus']:8.1f} registrations/s   ({args.bus_commands} SubmitCase -> stored)", flush=True)


def whole_hub(store: str, args, out: dict) -> None:
    with Hub(store) as hub:
        time.sleep(5)  # the groups settle after their first joins
        idle = idle_cpu(hub, args.idle_seconds)
        out["idle_cpu_percent"] = sum(idle.values())
        print(f"  idle hub                   {out['idle_cpu_percent']:8.1f} % of one core   ({args.idle_seconds:.0f} s: "
              + ", ".join(f"{name} {percent:.1f}" for name, percent in idle.items()) + ")", flush=True)

        began = time.monotonic()
        spent = cpu_by_process(hub)
        result = wrk(f"{hub.stack.url('intake')}/api/v1/cases", args.seconds)
        accepted = result["statuses"].get(201, 0)
        everywhere = wait_until(lambda: min(arrived(hub)) >= accepted, timeout=600)
        took = (time.monotonic() - began) if everywhere is not None else float("inf")
        spent = {name: seconds - spent.get(name, 0.0) for name, seconds in cpu_by_process(hub).items()}
        out["pipeline"] = accepted / took
        print(f"  pipeline                   {out['pipeline']:8.1f} cases/s   ({accepted} accepted in {result['seconds']:.0f} s, all routed, "
              f"timed and in the read model after {took:.1f} s; {arrived(hub)})", flush=True)
        print_cpu_per_case(spent, accepted)

        settle(hub)
        timed = asyncio.run(routed_latency(hub.bootstrap, hub.stack.url("intake"), 100, 20))
        latencies = [took for _, took in timed]
        out["routed_p99_ms"] = percentile(latencies, 99) * 1000
        # the first cases after a quiet spell wait for the consumers' idle fetches (`HubSettings.idle_fetch_wait_ms`)
        later = [took for sent, took in timed if timed and sent >= timed[0][0] + 2]
        print(f"  submission -> routed       p50 {percentile(latencies, 50) * 1000:6.1f} ms  p99 {out['routed_p99_ms']:6.1f} ms"
              f"   ({len(latencies)} cases at 100/s offered; from the third second on: p50 {percentile(later, 50) * 1000:.0f} ms,"
              f" p99 {percentile(later, 99) * 1000:.0f} ms)", flush=True)

        settle(hub)
        rated = "SELECT coalesce(sum(ratings), 0) FROM reporting_rating_unit_day"
        before = hub.count("reporting", rated)
        began = time.monotonic()
        result = wrk(f"{hub.stack.url('intake')}/api/v1/feedback", 20, body="rating")
        taken = result["statuses"].get(202, 0)
        visible = wait_until(lambda: hub.count("reporting", rated) - before >= taken, timeout=300)
        took = (time.monotonic() - began) if visible is not None else float("inf")
        out["ratings"] = taken / took
        print(f"  visit ratings              {out['ratings']:8.1f} ratings/s   ({taken} taken in 20 s, all in the drill-down after"
              f" {took:.1f} s; answers {result['statuses']})", flush=True)

        settle(hub)
        overload(hub, out)
        rss = {name: rss_mb(process.pid) for name, process in hub.stack.processes.items()}
        out["max_rss_mb"] = max(rss.values())
        print("  resident memory            " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items()), flush=True)


def overload(hub: Hub, out: dict) -> None:
    """3x the measured pipeline rate for 30 s, open loop; then the backlog and the latency afterwards."""
    rate = 3 * out["pipeline"]
    referred = "SELECT count(*) FROM reporting_case_status WHERE status = 'referred'"
    before = hub.count("reporting", referred)
    answers = load.opened(f"{hub.stack.url('intake')}/api/v1/cases", "case", 30, rate)
    burst_end = time.monotonic()
    accepted = sum(1 for a in answers if a.status == 201)
    shed = [a for a in answers if a.status in (429, 503)]
    drained = wait_until(lambda: hub.count("reporting", referred) - before >= accepted, timeout=120)
    after = load.opened(f"{hub.stack.url('intake')}/api/v1/cases", "case", 5, 5, processes=1)
    out["overload"] = {
        "offered": rate, "answers": len(answers), "accepted": accepted, "shed": len(shed),
        "shed_with_retry_after": sum(1 for a in shed if a.retry_after), "max_wait_s": max(a.took for a in answers),
        "no_answer": sum(1 for a in answers if a.status == 0), "lost": None if drained is None else 0,
        "drained_s": None if drained is None else time.monotonic() - burst_end,
        "after_p99_ms": percentile([a.took for a in after if a.status == 201], 99) * 1000,
    }
    o = out["overload"]
    print(f"  overload                   {rate:.0f} cases/s offered for 30 s: {o['answers']} requests, {accepted} accepted, {o['shed']} shed"
          f" ({o['shed_with_retry_after']} with Retry-After), {o['no_answer']} unanswered; longest wait {o['max_wait_s']:.1f} s;"
          f" backlog drained {'never' if drained is None else f'{drained:.0f} s'} after; filing p99 afterwards {o['after_p99_ms']:.0f} ms",
          flush=True)


def verdicts(store: str, out: dict, raw: float) -> list[tuple[str, bool, str]]:
    out["ratio"] = out["pipeline"] / raw
    lines = []
    for figure, (targets, higher) in TARGETS.items():
        target, value = targets[store], out.get(figure)
        met = value is not None and (value >= target if higher else value <= target)
        lines.append((f"{figure} {'>=' if higher else '<='} {target:g}", met, f"{value:.4g}" if value is not None else "-"))
    o = out.get("overload")
    if o:
        met = (o["max_wait_s"] <= 2 and o["no_answer"] == 0 and o["shed"] == o["shed_with_retry_after"] and o["lost"] == 0
               and o["drained_s"] is not None and o["drained_s"] <= 60)
        lines.append(("overload: waits <= 2 s, excess 503/429 + Retry-After, 0 lost, drained <= 60 s", met,
                      f"wait {o['max_wait_s']:.1f} s, {o['shed']} shed, {o['no_answer']} unanswered, drained "
                      + ("never" if o["drained_s"] is None else f"{o['drained_s']:.0f} s")))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the pipeline run files cases")
    parser.add_argument("--intake-seconds", type=float, default=20.0)
    parser.add_argument("--bus-commands", type=int, default=5000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--raw-messages", type=int, default=50_000)
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if unknown := set(stores) - {"sqlite", "postgres"}:
        parser.error(f"unknown stores {sorted(unknown)}: choose sqlite, postgres")

    port = free_port()
    broker = start_broker(port, Path(tempfile.mkdtemp(prefix="hub-bench-raw-")) / "broker.log")
    try:
        raw = asyncio.run(raw_broker_rate(f"127.0.0.1:{port}", args.raw_messages))
    finally:
        broker.terminate()
        broker.wait(10)
    print(f"raw broker rate              {raw:8.0f} msg/s   ({args.raw_messages} x 300 B, FastStream publish -> batch consume)")
    print(f"generator ceiling, wrk       {_wrk_ceiling():8.0f} requests/s against an endpoint that does nothing")
    print(f"generator ceiling, open loop {load.ceiling():8.0f} requests/s (the Python client of the latency and overload runs)")
    results = {}
    for store in stores:
        print(f"\n{store}:", flush=True)
        results[store] = out = {}
        intake_alone(store, args, out)
        whole_hub(store, args, out)
    print()
    for store, out in results.items():
        print(f"ratio pipeline/raw ({store})  {out['pipeline'] / raw:.4f}")
    print()
    for store, out in results.items():
        for name, met, value in verdicts(store, out, raw):
            print(f"target {store:8} {name:70} {'met' if met else 'NOT MET'}   ({value})")


def _wrk_ceiling() -> float:
    with load.nothing_server() as url:
        result = wrk(url, 5, body="none")
    return result["statuses"].get(200, 0) / result["seconds"]


if __name__ == "__main__":
    main()
