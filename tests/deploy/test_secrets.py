"""Secrets reach the pods from the Secret hub-secrets and nowhere else; only the dev overlay and compose
carry values, and those are the services' published development values, which production refuses."""

import base64
import re

import pytest

from hub_intake.settings import IntakeSettings
from hub_shared.auth import AuthSettings
from hub_web.settings import WebSettings
from tests.deploy.manifests import (K8S, ROOT, RENDERINGS, by_name, config_map, load_yaml, of_kind, pod_spec, render,
                                    rendered_text)

SECRET = "hub-secrets"
EVERY_SERVICE = {"HUB_AUTH_SIGNING_KEY"}
INTAKE_ONLY = {"HUB_INTAKE_DATA_KEYS", "HUB_INTAKE_PSEUDONYM_KEY"}
PORTAL_ONLY = {"HUB_WEB_FORM_KEY"}  # and the signing key: the staff pages mint their users' tokens with it
ALL_SECRETS = EVERY_SERVICE | INTAKE_ONLY | PORTAL_ONLY
DEVELOPMENT_VALUES = {  # the defaults in the code: what HUB_ENVIRONMENT=production refuses to start with
    "HUB_AUTH_SIGNING_KEY": AuthSettings.model_fields["signing_key"].default.get_secret_value(),
    "HUB_INTAKE_DATA_KEYS": IntakeSettings.model_fields["data_keys"].default.get_secret_value(),
    "HUB_INTAKE_PSEUDONYM_KEY": IntakeSettings.model_fields["pseudonym_key"].default.get_secret_value(),
    "HUB_WEB_FORM_KEY": WebSettings.model_fields["form_key"].default.get_secret_value(),
}


def _needs(workload: str) -> set[str]:
    if workload == "hub-web":
        return EVERY_SERVICE | PORTAL_ONLY
    return EVERY_SERVICE | (INTAKE_ONLY if workload.startswith("hub-intake") else set())


def _secret_env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", []) if e["name"] in ALL_SECRETS}


def _workloads(rendering: str) -> list[dict]:
    docs = render(rendering)
    return of_kind(docs, "Deployment") + of_kind(docs, "Job")


def _secret_name(rendering: str) -> str:
    """hub-secrets as the pods must name it: kustomize appends a content hash to a generated Secret."""
    generated = [s["metadata"]["name"] for s in of_kind(render(rendering), "Secret")
                 if s["metadata"]["name"].startswith(f"{SECRET}-")]
    return generated[0] if generated else SECRET


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_pods_take_their_secrets_from_hub_secrets(rendering):
    name = _secret_name(rendering)
    workloads = _workloads(rendering)
    assert len(workloads) == 11
    for workload in workloads:
        who = workload["metadata"]["name"]
        (container,) = pod_spec(workload)["containers"]
        env = _secret_env(container)
        assert set(env) == _needs(who), f"{who} gets {sorted(env)}"
        for var, entry in env.items():
            assert "value" not in entry, f"{who}: {var} is written in the manifest"
            assert entry["valueFrom"] == {"secretKeyRef": {"name": name, "key": var}}, who


def test_dev_overlay_generates_hub_secrets_with_the_development_values():
    docs = render("dev")
    secret = by_name(docs, "Secret")[_secret_name("dev")]
    assert secret["metadata"]["labels"]["hub/development-only"] == "true"
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert values == DEVELOPMENT_VALUES, "the dev overlay must hold exactly the code's published development values"
    assert config_map(docs, "hub-config")["data"]["HUB_ENVIRONMENT"] == "development"


@pytest.mark.parametrize("rendering", ["base", "prod"])
def test_base_and_prod_ship_no_secret_value(rendering):
    docs = render(rendering)
    assert not of_kind(docs, "Secret"), "Secrets of base and prod are created out of band"
    text = rendered_text(rendering)
    for var, value in DEVELOPMENT_VALUES.items():
        assert value not in text, f"{rendering} contains the development {var}"
    assert config_map(docs, "hub-config")["data"]["HUB_ENVIRONMENT"] == "production"


@pytest.mark.parametrize("folder", ["base", "overlays/prod"])
def test_base_and_prod_files_generate_no_secret(folder):
    for path in (K8S / folder).glob("*.y*ml"):
        for doc in load_yaml(path):
            assert doc.get("kind") != "Secret", path
            assert "secretGenerator" not in doc, path


def _compose_default(value: str, var: str) -> str:
    match = re.fullmatch(r"\$\{(\w+):-(.+)\}", str(value))
    assert match and match[1] == var, f"compose must read {var} from the shell: {value!r}"
    return match[2]


def test_compose_passes_secrets_from_the_shell_with_development_fallbacks():
    services = load_yaml(ROOT / "docker-compose.yml")[0]["services"]
    for name in ("intake", "routing", "followup", "reporting", "samad-gateway", "web"):
        env = services[name]["environment"]
        assert _compose_default(env["HUB_ENVIRONMENT"], "HUB_ENVIRONMENT") == "development"
        present = set(env) & ALL_SECRETS
        assert present == _needs(f"hub-{name}"), f"{name} gets {sorted(present)}"
        for var in present:  # equal to the code's defaults, so HUB_ENVIRONMENT=production refuses them
            assert _compose_default(env[var], var) == DEVELOPMENT_VALUES[var], var


def test_readme_shows_how_to_create_the_production_secret():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme[readme.index(f"kubectl create secret generic {SECRET}"):]
    command = command[:command.index("```")]
    for var in ALL_SECRETS:
        assert f"--from-literal={var}=" in command, var
    assert "openssl rand -base64 32" in command
