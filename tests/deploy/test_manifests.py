"""Static checks of the deployment files against the topic catalog and the settings (no Docker, no cluster).

The Kubernetes checks run on what `kubectl apply -k` would send for base, dev and prod (see manifests.py).
"""

import re
from importlib import import_module
from pathlib import Path, PurePosixPath

import pytest
import yaml

from hub_shared.calendar import HolidayOverrides
from hub_shared.settings import HOLIDAYS_FILE_NAMES, THURSDAY_OFF_NAMES, HubSettings, KafkaProfile
from hub_shared.topics import ALL_TOPICS
from tests.deploy.manifests import K8S, ROOT, RENDERINGS, by_name, config_map, load_yaml, of_kind, pod_spec, render

CATALOG = {t.name: t.partitions for t in ALL_TOPICS}
SERVICES = {  # compose service / k8s suffix -> (import package, port)
    "intake": ("hub_intake", 8001),
    "routing": ("hub_routing", 8002),
    "followup": ("hub_followup", 8003),
    "reporting": ("hub_reporting", 8004),
    "samad-gateway": ("hub_gateway", 8005),
}
PORTAL = {"web": ("hub_web", 8000)}  # the citizen's portal: no database, no broker, talks to intake and routing over HTTP
COUNT_WORKING_DAYS = {"routing", "followup", "reporting", "web"}  # the services that read hub_shared.calendar's settings
TOPIC_REPLICATION = {"base": (3, 2), "dev": (1, 1), "prod": (3, 2)}  # (replicas, min.insync.replicas)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(ROOT / "docker-compose.yml")[0]


def test_compose_runs_every_service_with_a_healthcheck(compose):
    services = compose["services"]
    for name, (_, port) in SERVICES.items():
        assert name in services, name
        svc = services[name]
        assert svc["healthcheck"]["test"], name
        assert str(svc["environment"]["HUB_HTTP_PORT"]) == str(port)
        assert svc["environment"]["HUB_SERVICE_NAME"] == name
        assert svc["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"


def test_compose_runs_the_portal_after_intake_and_routing_with_a_healthcheck(compose):
    portal = compose["services"]["web"]
    assert "/health/ready" in " ".join(portal["healthcheck"]["test"])
    assert str(portal["environment"]["HUB_HTTP_PORT"]) == "8000" and portal["environment"]["HUB_SERVICE_NAME"] == "web"
    assert {name: dep["condition"] for name, dep in portal["depends_on"].items()} == {
        "intake": "service_healthy", "routing": "service_healthy", "otel-collector": "service_started"}
    assert portal["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == compose["x-hub-env"]["OTEL_EXPORTER_OTLP_ENDPOINT"], \
        "the portal's spans go where the services' go: one trace from the citizen's submission"
    assert portal["environment"]["HUB_WEB_INTAKE_URL"] == "http://intake:8001"
    assert portal["environment"]["HUB_WEB_ROUTING_URL"] == "http://routing:8002"


def test_compose_runs_the_production_kafka_profile(compose):
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert env["HUB_KAFKA_PROFILE"] == "production", name
        assert str(env["HUB_KAFKA_IDEMPOTENT_PRODUCER"]).lower() == "true", name


def test_compose_topic_init_creates_the_catalog(compose):
    command = compose["services"]["topic-init"]["command"]
    script = command if isinstance(command, str) else "\n".join(command)
    created = {m[0]: int(m[1]) for m in re.findall(r"--topic\s+(\S+)\s+--partitions\s+(\d+)", script)}
    assert created == CATALOG


@pytest.mark.parametrize("name", {**SERVICES, **PORTAL})
def test_dockerfile(name):
    package, port = {**SERVICES, **PORTAL}[name]
    text = (ROOT / "services" / name / "Dockerfile").read_text(encoding="utf-8")
    assert f"EXPOSE {port}" in text
    assert "/health/live" in text and "HEALTHCHECK" in text
    assert f'CMD ["python", "-m", "{package}"]' in text
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.M)


def test_base_lists_all_its_files():
    kustomization = load_yaml(K8S / "base" / "kustomization.yaml")[0]
    files = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_kafka_topics_match_the_catalog(rendering):
    found = of_kind(render(rendering), "KafkaTopic")
    names = [t["spec"]["topicName"] for t in found]
    assert len(names) == len(set(names))
    assert {n: t["spec"]["partitions"] for n, t in zip(names, found)} == CATALOG
    replicas, min_insync = TOPIC_REPLICATION[rendering]
    for t in found:
        assert t["metadata"]["name"] == t["spec"]["topicName"].replace(".", "-")
        assert t["metadata"]["labels"]["strimzi.io/cluster"] == "hub-kafka"
        assert (t["spec"]["replicas"], t["spec"]["config"]["min.insync.replicas"]) == (replicas, min_insync)


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_pod_reads_the_production_kafka_profile(rendering):
    docs = render(rendering)
    config = config_map(docs, "hub-config")
    assert config["data"]["HUB_KAFKA_PROFILE"] == "production"
    assert config["data"]["HUB_KAFKA_IDEMPOTENT_PRODUCER"] == "true"
    assert config["data"]["HUB_ENVIRONMENT"] == ("development" if rendering == "dev" else "production")
    for workload in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        for container in pod_spec(workload)["containers"]:
            assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]


def _shutdown_seconds() -> float:
    """The longest consumer-group wait of the production profile (session or graceful timeout)."""
    timeouts = HubSettings(kafka_profile=KafkaProfile.production).consumer_timeouts()
    waits = [ms / 1000 for key, ms in timeouts.items() if "session" in key or "graceful" in key]
    assert waits, f"no session or graceful timeout in {timeouts}"
    return max(waits)


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_deployments_have_probes_and_a_grace_period_past_the_group_timeouts(rendering):
    deployments = by_name(render(rendering), "Deployment")
    assert set(deployments) == {f"hub-{n}" for n in {**SERVICES, **PORTAL}}
    for name, dep in deployments.items():
        pod = pod_spec(dep)
        for container in pod["containers"]:
            pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
            assert pre_stop[0] == "sleep", name
            assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + _shutdown_seconds(), name
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
            # routed to while its API can serve, also through a broker outage (changes wait in the outbox)
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/serving", name
            assert container["resources"]["requests"], name


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_service_has_a_migration_job(rendering):
    docs = render(rendering)
    jobs, deployments = by_name(docs, "Job"), by_name(docs, "Deployment")
    for name, (package, _) in SERVICES.items():
        container = pod_spec(jobs[f"hub-{name}-migrate"])["containers"][0]
        assert container["command"] == ["python", "-m", package, "migrate"]
        assert container["image"] == pod_spec(deployments[f"hub-{name}"])["containers"][0]["image"]


def _subscribed_topics(service: str, data_dir: Path) -> set[str]:
    """Topics the service subscribes to, read from the broker of a service built as it runs (nothing started)."""
    package, _ = SERVICES[service]
    runtime = import_module(f"{package}.app").create_runtime(HubSettings(service_name=service, data_dir=data_dir))
    return {topic.name for subscriber in runtime.broker.subscribers for topic in subscriber.topics}


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_hpa_never_exceeds_the_partitions_it_consumes(rendering, tmp_path):
    docs = render(rendering)
    hpas, deployments = of_kind(docs, "HorizontalPodAutoscaler"), by_name(docs, "Deployment")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == set(deployments)
    for hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target.removeprefix("hub-") in PORTAL:  # consumes nothing: no partition bounds it
            assert "hub/consumes" not in hpa["metadata"].get("annotations", {}), target
            continue
        consumes = set(hpa["metadata"]["annotations"]["hub/consumes"].split(","))
        assert consumes <= set(CATALOG), consumes
        subscribed = _subscribed_topics(target.removeprefix("hub-"), tmp_path)
        assert subscribed and subscribed <= consumes, f"{target}: hub/consumes {consumes} misses one of {subscribed}"
        low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
        assert low <= deployments[target]["spec"]["replicas"] <= high, target
        assert high <= max(CATALOG[t] for t in consumes), target  # past every topic's partitions a replica has no work


def test_the_services_that_count_working_days_are_the_ones_the_manifests_give_the_calendar(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOLIDAYS_FILE", str(tmp_path / "missing.yaml"))
    readers = set()
    for service, (package, _) in SERVICES.items():
        try:
            import_module(f"{package}.app").create_runtime(HubSettings(service_name=service, data_dir=tmp_path / service))
        except SystemExit as stop:
            assert "HUB_HOLIDAYS_FILE" in str(stop), stop
            readers.add(service)
    try:
        import_module("hub_web.app").create_app(HubSettings(service_name="web"), import_module("hub_web.settings").WebSettings())
    except SystemExit as stop:  # the portal counts the working days left to a deadline
        assert "HUB_HOLIDAYS_FILE" in str(stop), stop
        readers.add("web")
    assert readers == COUNT_WORKING_DAYS


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_service_that_counts_working_days_reads_one_calendar(rendering):
    """One HUB_THURSDAY_OFF and one holidays file, from hub-config and hub-calendar, for every pod of routing,
    followup and reporting (their migration Jobs build the service too): no pod sets its own."""
    docs = render(rendering)
    config, calendar = config_map(docs, "hub-config")["data"], config_map(docs, "hub-calendar")
    holidays_file = PurePosixPath(config["HUB_HOLIDAYS_FILE"])
    HolidayOverrides.model_validate(yaml.safe_load(calendar["data"][holidays_file.name]))
    assert HubSettings(thursday_off=config["HUB_THURSDAY_OFF"]).thursday_off is True
    for workload in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        service = workload["metadata"]["name"].removeprefix("hub-").removesuffix("-migrate")
        pod = pod_spec(workload)
        for container in pod["containers"]:
            own = {e["name"] for e in container.get("env", [])} & {*THURSDAY_OFF_NAMES, *HOLIDAYS_FILE_NAMES}
            assert not own, f"{workload['metadata']['name']} sets {own} itself; set them in hub-config"
            if service in COUNT_WORKING_DAYS:
                mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                volume = mounted.get(str(holidays_file.parent))
                assert {"name": volume, "configMap": {"name": calendar["metadata"]["name"]}} in pod["volumes"], workload["metadata"]["name"]
