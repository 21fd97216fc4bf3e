"""Chaos benchmark: load at a set rate, `kill -9` each service and the broker at set moments, then count.

It runs the hub as an operator would (`hub up` in its own process group, supervising its children), files
cases over HTTP at `--rate` for `--seconds`, and kills one process every `--every` seconds: each of the
five services, then the embedded broker. Afterwards it waits for the hub to settle and checks every case
that was answered 201, in every service's own database:

- routed: one referral in routing;            timers: follow-up timers in followup, none twice;
- read model: `referred` in reporting;        change feed: each status change of the case once;
- intake's own view: the referral in the case's history, once.

and prints, per kill, how long the process took to be ready (and consuming) again, and after the broker's
death how long filing was refused. The summary says met / not met for: 0 lost, 0 duplicated effects,
every restart < 10 s, filing unavailable < 20 s after a broker death.

With `--replicas` (PostgreSQL), routing and followup run a second process each, started by the benchmark
itself, as a supervisor on another machine would, with the first one's settings and the next port. The
kills hit these second processes, and nothing restarts them: the first must take the dead one's partitions
of hub.cases.v1 over (the benchmark reads the assignment each consumer logs) within the restart target.

    ./hub bench chaos [--rate 10] [--seconds 100] [--every 12] [--replicas] [--postgres]
"""

import argparse
import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import submission  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PORTS = {"intake": 8001, "routing": 8002, "followup": 8003, "reporting": 8004, "samad-gateway": 8005}
LIFTED_LIMITS = {"HUB_PUBLIC_REQUESTS_PER_MINUTE": "100000000", "HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY": "100000000",
                 "HUB_LOOKUP_MISSES_ALLOWED": "100000000", "HUB_LOG_LEVEL": "INFO", "HUB_SIMULATORS": "off"}
RESTART_TARGET_S = 10.0
FILING_GAP_TARGET_S = 20.0


PARTITIONS = 12  # of hub.cases.v1


@dataclass
class Kill:
    target: str  # a service's process name, a second replica ("routing-2"), or "broker"
    at: float
    back_after: float | None = None  # seconds until ready again (broker: until filing works again; replica: taken over)
    process: subprocess.Popen | None = None  # a replica the benchmark started: killed for good
    survivor_log: Path | None = None


@dataclass
class Load:
    accepted: list[str] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    last_refusal: float = 0.0
    first_success_after: dict[float, float] = field(default_factory=dict)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def pid_of(pattern: str) -> int | None:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


def pid_listening_on(port: int) -> int | None:
    """The process that listens on `port` (replicas of one service share a command line, not a port)."""
    listing = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    found = re.search(r"pid=(\d+)", listing)
    return int(found.group(1)) if found else None


async def ready(client: httpx.AsyncClient, port: int) -> bool:
    try:
        return (await client.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


async def file_cases(client: httpx.AsyncClient, load: Load, rate: float, seconds: float) -> None:
    interval, begin = 1 / rate, time.monotonic()
    pending = []

    async def one() -> None:
        try:
            response = await client.post(f"http://127.0.0.1:{PORTS['intake']}/api/v1/cases", json=submission(), timeout=5)
        except httpx.HTTPError as error:
            load.refused[type(error).__name__] += 1
            load.last_refusal = time.monotonic()
            return
        if response.status_code == 201:
            load.accepted.append(response.json()["case_id"].replace("-", ""))
        else:
            load.refused[str(response.status_code)] += 1
            load.last_refusal = time.monotonic()

    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + n * interval - time.monotonic()))
        pending.append(asyncio.create_task(one()))
    await asyncio.gather(*pending)


async def kill_and_time(client: httpx.AsyncClient, kill: Kill, data_dir: Path, started: float) -> None:
    await asyncio.sleep(max(0.0, started + kill.at - time.monotonic()))
    if kill.process is not None:
        pid = kill.process.pid
    elif kill.target == "broker":
        pid = pid_of("broker --listener-url tcp://127.0.0.1:9092")
    else:
        pid = pid_listening_on(PORTS[kill.target])
    if pid is None:
        print(f"  no process for {kill.target}: not killed", file=sys.stderr)
        return
    seen = kill.survivor_log.stat().st_size if kill.survivor_log else 0
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    print(f"  t={killed - started:5.1f}s kill -9 {kill.target} (pid {pid}){' for good' if kill.process else ''}", flush=True)
    await asyncio.sleep(0.2)
    if kill.process is not None:
        while time.monotonic() - killed < 60 and most_partitions(kill.survivor_log, seen) < PARTITIONS:
            await asyncio.sleep(0.1)
        if most_partitions(kill.survivor_log, seen) < PARTITIONS:
            return
    elif kill.target == "broker":
        while not await _files(client):
            await asyncio.sleep(0.1)
    else:
        while not await ready(client, PORTS[kill.target]):
            await asyncio.sleep(0.1)
    kill.back_after = time.monotonic() - killed


def most_partitions(log: Path, offset: int = 0) -> int:
    """The most partitions of hub.cases.v1 one assignment gave the process logging to `log` (after `offset`)."""
    with log.open("rb") as lines:
        lines.seek(offset)
        return max((line.count(b"'hub.cases.v1'") for line in lines if b"assigned to partitions" in line and b"hub.cases.v1" in line),
                   default=0)


def start_second_replica(name: str, data_dir: Path) -> subprocess.Popen:
    """`name`'s second process: the supervised one's command line and settings, the port 100 above."""
    port = PORTS[name]
    pid = pid_listening_on(port)
    env = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    command = Path(f"/proc/{pid}/cmdline").read_text().rstrip("\0").split("\0")
    env["HUB_HTTP_PORT"] = str(port + 100)
    log = (data_dir / "logs" / f"{name}-2.log").open("ab")
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


async def _files(client: httpx.AsyncClient) -> bool:
    try:
        response = await client.post(f"http://127.0.0.1:{PORTS['intake']}/api/v1/cases", json=submission(), timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 201


def libpq(url: str) -> str:
    """A service's SQLAlchemy URL (`postgresql+asyncpg://...`) as libpq reads it, for psycopg's own connections."""
    return "postgresql://" + url.split("://", 1)[1]


class Databases:
    """Reads each service's own database: SQLite files in the data folder, or the PostgreSQL template."""

    def __init__(self, data_dir: Path, template: str) -> None:
        self._data_dir = data_dir
        self._template = template

    def rows(self, service: str, sql: str) -> list[tuple]:
        if not self._template:
            with sqlite3.connect(f"file:{self._data_dir / (service + '.db')}?mode=ro", uri=True, timeout=30) as connection:
                return connection.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(libpq(self._template.format(service=service.replace("-", "_")))) as connection:
            return connection.execute(sql).fetchall()

    def drop(self) -> None:
        """Drop the run's PostgreSQL databases, one per service the template named (SQLite files go with the data folder)."""
        if not self._template:
            return
        import psycopg

        server, prefix = libpq(self._template.format(service="")).rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            names = [row[0] for row in connection.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,))]
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def per_case(self, service: str, sql: str) -> Counter:
        return Counter({str(case).replace("-", ""): count for case, count in self.rows(service, sql)})


def tally(databases: Databases, accepted: list[str]) -> dict[str, dict[str, int]]:
    """Per check: how many accepted cases have the effect (found), lack it (lost), or have it twice (duplicated)."""
    checks = {
        "routed (routing)": databases.per_case("routing", "SELECT case_id, count(*) FROM routing_referral GROUP BY case_id"),
        "timers (followup)": databases.per_case("followup", "SELECT case_id, count(*) FROM followup_timer GROUP BY case_id"),
        "read model (reporting)": databases.per_case(
            "reporting", "SELECT case_id, count(*) FROM reporting_case_status WHERE status = 'referred' GROUP BY case_id"),
        "change feed (reporting)": databases.per_case(
            "reporting", "SELECT case_id, count(*) FROM reporting_status_change GROUP BY case_id"),
        "intake's view (intake)": databases.per_case(
            "intake", "SELECT case_id, count(*) FROM intake_case_history WHERE status = 'referred' GROUP BY case_id"),
    }
    timer_repeats = databases.per_case("followup", "SELECT case_id, count(*) - count(DISTINCT step) FROM followup_timer GROUP BY case_id")
    feed_repeats = databases.per_case("reporting", "SELECT case_id, count(*) - count(DISTINCT status) FROM reporting_status_change "
                                                    "GROUP BY case_id")
    once = {"routed (routing)", "read model (reporting)", "intake's view (intake)"}
    result = {}
    for name, counts in checks.items():
        lost = sum(1 for case in accepted if counts[case] == 0)
        if name in once:
            duplicated = sum(1 for case in accepted if counts[case] > 1)
        else:
            repeats = timer_repeats if name.startswith("timers") else feed_repeats
            duplicated = sum(1 for case in accepted if repeats[case] > 0)
        result[name] = {"found": len(accepted) - lost, "lost": lost, "duplicated": duplicated}
    return result


def settled(databases: Databases, accepted: list[str]) -> bool:
    try:
        return all(row["lost"] == 0 for row in tally(databases, accepted).values())
    except Exception:
        return False


def start_hub(data_dir: Path, template: str) -> subprocess.Popen:
    env = {**os.environ, **LIFTED_LIMITS}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    if template:
        env["HUB_DATABASE_URL_TEMPLATE"] = template
    command = [str(ROOT / ".venv" / "bin" / "hub"), "up", "--data-dir", str(data_dir)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=(data_dir / "up.log").open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


async def wait_up(hub: subprocess.Popen, ports: list[int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while not all([await ready(client, port) for port in ports]):
            if hub.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the hub did not come up; see its up.log")
            await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> bool:
    data_dir = Path(tempfile.mkdtemp(prefix="hub-chaos-"))
    template = ""
    if args.postgres or args.replicas:
        template = f"postgresql+asyncpg://postgres@127.0.0.1:5432/hub_chaos_{uuid.uuid4().hex[:6]}_{{service}}"
    busy = [port for port in (*PORTS.values(), 9092, 8102, 8103) if not port_free(port)]
    if busy:
        raise SystemExit(f"ports {busy} are in use: stop the hub that runs there first")
    victims = ["routing-2" if args.replicas else "routing", "followup-2" if args.replicas else "followup",
               "reporting", "intake", "samad-gateway", "broker"]
    kills = [Kill(target, at=args.every * (n + 1)) for n, target in enumerate(victims)]
    if args.seconds < kills[-1].at + 10:
        raise SystemExit(f"--seconds must leave 10 s after the last kill at {kills[-1].at:.0f} s")
    print(f"chaos: {args.rate:g} cases/s for {args.seconds:g} s, a kill every {args.every:g} s; "
          f"{'PostgreSQL' if template else 'SQLite'}{', routing and followup x2' if args.replicas else ''}; data in {data_dir}")
    hub = start_hub(data_dir, template)
    load = Load()
    seconds: list[subprocess.Popen] = []
    try:
        await wait_up(hub, list(PORTS.values()))
        if args.replicas:
            for kill in kills[:2]:
                first = kill.target.removesuffix("-2")
                kill.process = start_second_replica(first, data_dir)
                kill.survivor_log = data_dir / "logs" / f"{first}.log"
                seconds.append(kill.process)
            await wait_up(hub, [PORTS["routing"] + 100, PORTS["followup"] + 100])
        started = time.monotonic()
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=200)) as client:
            await asyncio.gather(file_cases(client, load, args.rate, args.seconds),
                                 *(kill_and_time(client, kill, data_dir, started) for kill in kills))
        databases = Databases(data_dir, template)
        settle_until = time.monotonic() + args.settle
        while time.monotonic() < settle_until and not settled(databases, load.accepted):
            await asyncio.sleep(1)
        await asyncio.sleep(3)  # a late duplicate would land now
        counts = tally(databases, load.accepted)
    finally:
        for process in seconds:
            if process.poll() is None:
                process.kill()
        os.killpg(hub.pid, signal.SIGTERM)
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
        Databases(data_dir, template).drop()
    return report(load, kills, counts)


def report(load: Load, kills: list[Kill], counts: dict) -> bool:
    print(f"\naccepted (201) {len(load.accepted)}; refused {sum(load.refused.values())} {dict(load.refused) or ''}")
    print(f"{'check':26} {'found':>7} {'lost':>6} {'duplicated':>11}")
    for name, row in counts.items():
        print(f"{name:26} {row['found']:7} {row['lost']:6} {row['duplicated']:11}")
    print("\nrestarts (kill -9 -> ready and consuming; broker: -> a filing answered 201;"
          f" second replica: -> the first holds all {PARTITIONS} partitions)")
    for kill in kills:
        shown = f"{kill.back_after:5.1f} s" if kill.back_after is not None else "never"
        print(f"  {kill.target:14} at {kill.at:5.0f} s   {'taken over after' if kill.process else 'back after'} {shown}")
    lost = sum(row["lost"] for row in counts.values())
    duplicated = sum(row["duplicated"] for row in counts.values())
    services = [kill for kill in kills if kill.target != "broker" and kill.process is None]
    replicas = [kill for kill in kills if kill.process is not None]
    broker = next(kill for kill in kills if kill.target == "broker")
    targets = [
        ("0 lost (every accepted case in every check)", lost == 0, f"{lost} lost"),
        ("0 duplicated effects", duplicated == 0, f"{duplicated} duplicated"),
        (f"every service ready again < {RESTART_TARGET_S:.0f} s", all(k.back_after is not None and k.back_after < RESTART_TARGET_S
                                                                        for k in services),
         "max " + (f"{max(k.back_after for k in services if k.back_after is not None):.1f} s" if any(k.back_after for k in services) else "-")),
        (f"filing back < {FILING_GAP_TARGET_S:.0f} s after a broker death", broker.back_after is not None
         and broker.back_after < FILING_GAP_TARGET_S, f"{broker.back_after:.1f} s" if broker.back_after is not None else "never"),
    ]
    if replicas:
        took_over = all(k.back_after is not None and k.back_after < RESTART_TARGET_S for k in replicas)
        targets.append((f"the survivor takes the partitions over < {RESTART_TARGET_S:.0f} s", took_over,
                        ", ".join(f"{k.target.removesuffix('-2')} {k.back_after:.1f} s" if k.back_after is not None else
                                  f"{k.target.removesuffix('-2')} never" for k in replicas)))
    print()
    for name, met, figure in targets:
        print(f"target {name:52} {'met' if met else 'NOT MET'}   ({figure})")
    return all(met for _, met, _ in targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="cases/s offered")
    parser.add_argument("--seconds", type=float, default=95.0, help="how long to offer them")
    parser.add_argument("--every", type=float, default=12.0, help="seconds between kills")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for every case to arrive everywhere")
    parser.add_argument("--postgres", action="store_true", help="the services on PostgreSQL (127.0.0.1:5432) instead of SQLite")
    parser.add_argument("--replicas", action="store_true", help="a second process of routing and of followup, killed for good (PostgreSQL)")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
