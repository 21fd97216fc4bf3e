"""Static checks of the deployment files against the topic catalog (no Docker, no cluster)."""

import re
from pathlib import Path

import pytest
import yaml

from hub_shared.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CATALOG = {t.name: t.partitions for t in ALL_TOPICS}
SERVICES = {  # compose service / k8s suffix -> (import package, port)
    "intake": ("hub_intake", 8001),
    "routing": ("hub_routing", 8002),
    "followup": ("hub_followup", 8003),
    "reporting": ("hub_reporting", 8004),
    "samad-gateway": ("hub_gateway", 8005),
}


def _docs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def _k8s_docs(under: Path) -> list[tuple[Path, dict]]:
    return [(p, d) for p in sorted(under.rglob("*.y*ml")) for d in _docs(p)]


def _kind(docs: list[tuple[Path, dict]], kind: str) -> list[dict]:
    return [d for _, d in docs if d.get("kind") == kind]


@pytest.fixture(scope="module")
def compose() -> dict:
    return _docs(ROOT / "docker-compose.yml")[0]


@pytest.fixture(scope="module")
def base() -> list[tuple[Path, dict]]:
    return _k8s_docs(K8S / "base")


def test_compose_runs_every_service_with_a_healthcheck(compose):
    services = compose["services"]
    for name, (_, port) in SERVICES.items():
        assert name in services, name
        svc = services[name]
        assert svc["healthcheck"]["test"], name
        assert str(svc["environment"]["HUB_HTTP_PORT"]) == str(port)
        assert svc["environment"]["HUB_SERVICE_NAME"] == name
        assert svc["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"


def test_compose_topic_init_creates_the_catalog(compose):
    command = compose["services"]["topic-init"]["command"]
    script = command if isinstance(command, str) else "\n".join(command)
    created = {m[0]: int(m[1]) for m in re.findall(r"--topic\s+(\S+)\s+--partitions\s+(\d+)", script)}
    assert created == CATALOG


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile(name):
    package, port = SERVICES[name]
    text = (ROOT / "services" / name / "Dockerfile").read_text(encoding="utf-8")
    assert f"EXPOSE {port}" in text
    assert "/health/live" in text and "HEALTHCHECK" in text
    assert f'CMD ["python", "-m", "{package}"]' in text
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.M)


def test_every_k8s_yaml_parses_and_base_lists_its_files():
    docs = _k8s_docs(K8S)
    assert docs
    kustomization = _docs(K8S / "base" / "kustomization.yaml")[0]
    files = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_kafka_topics_match_the_catalog(base):
    topics = _kind(base, "KafkaTopic")
    names = [t["spec"].get("topicName", t["metadata"]["name"]) for t in topics]
    assert len(names) == len(set(names))
    assert {n: t["spec"]["partitions"] for n, t in zip(names, topics)} == CATALOG
    for t in topics:
        assert t["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert t["metadata"]["labels"]["strimzi.io/cluster"] == "hub-kafka"
        assert t["spec"]["replicas"] == 3


def test_deployments_have_probes_and_grace(base):
    deployments = {d["metadata"]["name"]: d for d in _kind(base, "Deployment")}
    assert set(deployments) == {f"hub-{n}" for n in SERVICES}
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= 30, name
        for container in pod["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
            assert container["resources"]["requests"], name


def test_every_service_has_a_migration_job(base):
    jobs = {j["metadata"]["name"]: j for j in _kind(base, "Job")}
    for name, (package, _) in SERVICES.items():
        container = jobs[f"hub-{name}-migrate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", package, "migrate"]


def test_hpa_never_exceeds_the_partitions_it_consumes(base):
    hpas = _kind(base, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == {f"hub-{n}" for n in SERVICES}
    for hpa in _kind(_k8s_docs(K8S), "HorizontalPodAutoscaler"):
        consumes = hpa["metadata"]["annotations"]["hub/consumes"].split(",")
        assert consumes and set(consumes) <= set(CATALOG), consumes
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["maxReplicas"] <= min(CATALOG[t] for t in consumes), hpa["metadata"]["name"]
