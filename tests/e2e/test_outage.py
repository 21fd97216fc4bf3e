"""The hub rides out the broker's death: the API keeps serving, filings are accepted while the broker is away,
and every case filed before, during and after reaches routing and the read model once it is back.

Its own hub (intake, routing, reporting on SQLite, one tansu), because the test kills the broker.
"""

import signal
from collections.abc import Iterator

import httpx
import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_cli.stack import SERVICES, Stack, ensure_topics, free_port, start_broker
from tests.e2e.helpers import NotYet, submission, wait_for_status

pytestmark = pytest.mark.broker
NEEDED = ("intake", "routing", "reporting")


@pytest.fixture(scope="module")
def outage_hub(tmp_path_factory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("hub-outage")
    port = free_port()
    stack = Stack(data_dir=data_dir, bootstrap=f"127.0.0.1:{port}", env={
        "HUB_KAFKA_PROFILE": "test", "HUB_PUBLIC_REQUESTS_PER_MINUTE": "1000000", "HUB_LOOKUP_MISSES_ALLOWED": "1000000",
        "HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY": "1000000"})
    stack.broker_port = port
    stack.broker = start_broker(port, data_dir / "logs" / "broker-1.log")
    ensure_topics(stack.bootstrap)
    for spec in SERVICES:
        if spec.name in NEEDED:
            stack.start_service(spec, port=free_port())
    try:
        stack.wait_ready(timeout=90)
        yield stack
    finally:
        stack.stop()
        stack.broker.kill()
        stack.broker.wait(10)


def file(hub: Stack) -> dict:
    response = httpx.post(f"{hub.url('intake')}/api/v1/cases", json=submission(), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.2), retry=retry_if_exception_type((NotYet, httpx.HTTPError)), reraise=True)
def health(hub: Stack, service: str, path: str, status: int) -> dict:
    response = httpx.get(f"{hub.url(service)}/health/{path}", timeout=5)
    if response.status_code != status:
        raise NotYet(f"{service} /health/{path}: {response.status_code} {response.text}")
    return response.json()


def test_filings_are_accepted_while_the_broker_is_dead_and_every_case_flows_once_it_is_back(outage_hub) -> None:
    hub = outage_hub
    before = file(hub)
    wait_for_status(hub, before["tracking_code"], "referred")
    hub.broker.send_signal(signal.SIGKILL)
    hub.broker.wait(10)

    during = [file(hub) for _ in range(3)]  # 201: stored with their outbox rows, waiting for the broker
    not_ready = health(hub, "intake", "ready", 503)
    assert not_ready["checks"]["database"] == "ok" and not_ready["checks"]["bus"] != "ok", not_ready
    assert health(hub, "intake", "serving", 200)["checks"]["database"] == "ok"
    assert all(process.poll() is None for process in hub.processes.values()), "no service died with the broker"

    hub.broker = start_broker(hub.broker_port, hub.data_dir / "logs" / "broker-2.log")
    ensure_topics(hub.bootstrap)
    after = file(hub)
    try:
        for case in (*during, after):
            wait_for_status(hub, case["tracking_code"], "referred", seconds=60)
    except NotYet as late:  # rare when it happens: the services' own account goes with the failure
        raise AssertionError(f"{late}\n{_story(hub)}") from late
    for service in NEEDED:
        ready = health(hub, service, "ready", 200)
        assert ready["checks"]["bus"] == "ok", (service, ready)
    republished = health(hub, "routing", "ready", 200)["outbox"]["republished_to_new_broker"]
    assert republished >= 1, "routing's CaseRouted of the case filed before the death went to the new broker again"
    status = httpx.get(f"{hub.url('reporting')}/api/v1/status/{before['tracking_code']}", timeout=5,
                       headers=_centre()).json()
    assert [entry["status"] for entry in status["history"]].count("referred") == 1, "the republished fact applied once"


def test_metrics_show_the_bus_and_the_outbox(outage_hub) -> None:
    text = httpx.get(f"{outage_hub.url('intake')}/metrics", timeout=5).text
    assert 'hub_bus_up{service="intake"} 1.0' in text
    assert 'hub_outbox_pending{service="intake"}' in text and "hub_reconcile_drifted_cases" in text


def _story(hub: Stack, lines: int = 40) -> str:
    """The last warnings and the group and bus lines of each service's log, after the broker's death."""
    told = []
    for service in NEEDED:
        path = hub.data_dir / "logs" / f"{service}.log"
        kept = [line for line in path.read_text(errors="replace").splitlines()
                if any(mark in line for mark in ('"WARNING"', '"hub.bus"', '"hub_shared.', "group_coordinator"))
                and "not ready" not in line and "Unable connect" not in line]
        told.append(f"--- {service}\n" + "\n".join(line[:400] for line in kept[-lines:]))
    return "\n".join(told)


def _centre() -> dict[str, str]:
    from hub_shared.auth import Role
    from hub_shared.testing import bearer

    return bearer(Role.presidential_centre)
