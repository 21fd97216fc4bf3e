"""Every Kubernetes document, as written and as rendered for base, dev and prod, passes its schema:
Kubernetes' own (fixed version, strict) for core kinds, Strimzi's KafkaTopic fields for topics."""

import copy

import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.manifests import (KUBECTL_VERSION, K8S, RENDERINGS, load_yaml, render,
                                    run_kubectl, source_docs, validate)


def _check(doc: dict, where: str) -> None:
    name = f"{where}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    try:
        validate(doc)
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{name}: {exc.message}; every kind needs a schema here")
    except jsonschema.ValidationError as exc:
        pytest.fail(f"{name} at {'.'.join(map(str, exc.absolute_path))}: {exc.message}")


def test_renders_with_the_pinned_kustomize():
    assert f"Client Version: v{KUBECTL_VERSION}" in run_kubectl("version", "--client")


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_rendered_document_validates(rendering):
    docs = render(rendering)
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "Job", "HorizontalPodAutoscaler",
            "KafkaTopic"} <= {d["kind"] for d in docs}
    for doc in docs:
        _check(doc, rendering)


def test_every_source_document_validates():
    docs = source_docs()
    assert len(docs) > 20
    for path, doc in docs:
        _check(doc, str(path.relative_to(K8S)))


def _rejected(doc: dict) -> bool:
    try:
        validate(doc)
    except jsonschema.ValidationError:
        return True
    return False


def _deployment() -> dict:
    return copy.deepcopy(load_yaml(K8S / "base" / "deployments.yaml")[0])


def _topic() -> dict:
    return copy.deepcopy(load_yaml(K8S / "base" / "kafka-topics.yaml")[0])


def test_strict_kubernetes_validation_rejects_unknown_fields_and_wrong_types():
    assert not _rejected(_deployment())
    typo = _deployment()
    typo["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = typo["spec"]["template"]["spec"]["containers"][0].pop("livenessProbe")
    assert _rejected(typo)
    wrong_type = _deployment()
    wrong_type["spec"]["replicas"] = "two"
    assert _rejected(wrong_type)
    bad_ref = _deployment()
    bad_ref["spec"]["template"]["spec"]["containers"][0]["env"][2]["valueFrom"]["secretKeyRef"]["optinal"] = True
    assert _rejected(bad_ref)


@pytest.mark.parametrize("change", [
    lambda t: t["spec"].update(partitions=0),
    lambda t: t["spec"].update(partitions="6"),
    lambda t: t["spec"].update(replicas=32768),
    lambda t: t["spec"].update(replicas=0),
    lambda t: t["spec"].update(partiton=6),
    lambda t: t["spec"].update(config=["min.insync.replicas=2"]),
    lambda t: t["metadata"]["labels"].pop("strimzi.io/cluster"),
    lambda t: t.update(apiVersion="kafka.strimzi.io/v1beta1"),
], ids=["partitions-0", "partitions-string", "replicas-32768", "replicas-0", "unknown-field", "config-list",
        "no-cluster-label", "old-api-version"])
def test_kafka_topic_schema_rejects(change):
    assert not _rejected(_topic())
    topic = _topic()
    change(topic)
    assert _rejected(topic)

