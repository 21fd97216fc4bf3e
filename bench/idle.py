"""Idle benchmark: how much CPU the hub burns while nothing happens.

It runs the hub as an operator would (`hub up` in its own process group, as the chaos benchmark does),
waits until every service's `/health/ready` answers 200, lets it settle, and then reads each process's
CPU time (user + system, from /proc/PID/stat: the process and its threads, not its children) over
`--seconds`. It prints percent of one core per process (the broker, the five services and the `hub up`
supervisor) and their total, against the target: an idle hub uses at most 5 % of one core in all.

With `--latency RATE` it then files cases at RATE/s for `--latency-seconds` and prints p50/p99 from
submission to `case routed` on the bus (`bench/run.py`'s measure), so that a quieter idle hub can be
checked not to have bought its quiet with latency.

    ./hub bench idle [--seconds 60] [--settle 10] [--postgres] [--latency 5] [--latency-seconds 20]
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos import PORTS, pid_listening_on, pid_of, port_free, start_hub, wait_up  # noqa: E402

TARGET_PERCENT = 5.0
BROKER_PORT = 9092
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (all its threads; not its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from the state (3)
    return (utime + stime) / TICKS_PER_SECOND


def measure_idle(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Percent of one core each process used over the next `seconds`."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    elapsed = time.monotonic() - started
    return {name: 100 * (after[name] - before[name]) / elapsed for name in pids}


def hub_pids(hub: subprocess.Popen) -> dict[str, int]:
    """The broker, each service (by the port it listens on) and the `hub up` supervisor itself."""
    pids = {"broker": pid_of(f"broker --listener-url tcp://127.0.0.1:{BROKER_PORT}")}
    pids |= {name: pid_listening_on(port) for name, port in PORTS.items()}
    pids["hub up (supervisor)"] = hub.pid
    missing = [name for name, pid in pids.items() if pid is None]
    if missing:
        raise SystemExit(f"no process found for {', '.join(missing)}")
    return pids


def report(usage: dict[str, float], seconds: float) -> bool:
    print(f"\nCPU over {seconds:g} s idle, percent of one core")
    for name, percent in usage.items():
        print(f"  {name:22} {percent:6.2f} %")
    total = sum(usage.values())
    print(f"  {'total':22} {total:6.2f} %")
    met = total <= TARGET_PERCENT
    print(f"\ntarget idle hub ≤ {TARGET_PERCENT:g} % of one core in all   {'met' if met else 'NOT MET'} ({total:.2f} %)")
    return met


def latency(rate: float, seconds: float) -> None:
    """Submission -> routed, first for the cases of the first two seconds after the idle spell (consumers then
    wait longer at the broker, `hub_shared.consumer.FetchPace`), then for `seconds` of steady load."""
    from run import percentile, routed_latency

    for what, span in (("after the idle spell", 2.0), ("steady", seconds)):
        timed = asyncio.run(routed_latency(f"127.0.0.1:{BROKER_PORT}", f"http://127.0.0.1:{PORTS['intake']}", rate, span))
        latencies = sorted(took for _, took in timed)
        if not latencies:
            print(f"submission -> routed ({what}): no case was routed")
            continue
        print(f"submission -> routed ({what:19}) p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
              f"p99 {percentile(latencies, 99) * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms   "
              f"({len(latencies)} cases at {rate:g} cases/s offered)")


def run(args: argparse.Namespace) -> bool:
    data_dir = Path(tempfile.mkdtemp(prefix="hub-idle-"))
    template = ""
    if args.postgres:
        template = f"postgresql+asyncpg://postgres@127.0.0.1:5432/hub_idle_{uuid.uuid4().hex[:6]}_{{service}}"
    busy = [port for port in (*PORTS.values(), BROKER_PORT) if not port_free(port)]
    if busy:
        raise SystemExit(f"ports {busy} are in use: another hub runs there; wait for it to stop")
    print(f"idle: {'PostgreSQL' if template else 'SQLite'}; settle {args.settle:g} s, measure {args.seconds:g} s; data in {data_dir}")
    hub = start_hub(data_dir, template)
    try:
        asyncio.run(wait_up(hub, list(PORTS.values())))
        time.sleep(args.settle)
        met = report(measure_idle(hub_pids(hub), args.seconds), args.seconds)
        if args.latency > 0:
            latency(args.latency, args.latency_seconds)
    finally:
        os.killpg(hub.pid, signal.SIGTERM)
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to measure")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait after every service is ready")
    parser.add_argument("--postgres", action="store_true", help="the services on PostgreSQL (127.0.0.1:5432) instead of SQLite")
    parser.add_argument("--latency", type=float, default=0.0, metavar="RATE",
                        help="afterwards, cases/s to offer for a submission -> routed latency check (0: none)")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="how long to offer them")
    args = parser.parse_args()
    sys.exit(0 if run(args) else 1)


if __name__ == "__main__":
    main()
