"""Intake and reporting count the portal's visitors by the address the portal names in X-Forwarded-For, and trust
that header only from the networks in HUB_INTAKE_TRUSTED_PROXIES / HUB_REPORTING_TRUSTED_PROXIES. Unset, every
citizen behind the portal shares the portal's one per-address allowance: each deployment must set them, to the
portal's network and no wider."""

import ipaddress
import re

import pytest

from hub_intake.settings import IntakeSettings
from hub_reporting.settings import ReportingSettings
from hub_shared.ratelimit import trusted_networks
from tests.deploy.manifests import ROOT, RENDERINGS, by_name, config_map, load_yaml, of_kind, pod_spec, render

TRUSTING = {"intake": ("HUB_INTAKE_TRUSTED_PROXIES", IntakeSettings),
            "reporting": ("HUB_REPORTING_TRUSTED_PROXIES", ReportingSettings)}


def _networks(service: str, value) -> list:
    """The networks a service would trust with `value`, which must be set and valid (its settings check it)."""
    variable, settings = TRUSTING[service]
    assert value and str(value).strip(), f"{service}: {variable} is not set, so every citizen behind the portal shares one allowance"
    settings(trusted_proxies=str(value))
    networks = trusted_networks(str(value))
    for network in networks:
        assert network.is_private and network.prefixlen >= 8, f"{service}: {variable} trusts {network}, far beyond the portal"
    return networks


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(ROOT / "docker-compose.yml")[0]


def test_compose_trusts_the_hub_containers_addresses_and_not_the_gateway(compose):
    (ipam,) = compose["networks"]["default"]["ipam"]["config"]
    subnet, containers = ipaddress.ip_network(ipam["subnet"]), ipaddress.ip_network(ipam["ip_range"])
    gateway = ipaddress.ip_address(ipam["gateway"])
    assert containers.subnet_of(subnet) and gateway in subnet and gateway not in containers
    portal = compose["services"]["web"]
    assert "network_mode" not in portal and set(portal.get("networks", ["default"])) == {"default"}, "the portal is on the hub's network"
    for service in TRUSTING:
        networks = _networks(service, compose["services"][service]["environment"].get(TRUSTING[service][0]))
        assert any(containers.subnet_of(network) for network in networks), f"{service} does not trust every container's address"
        for network in networks:
            assert network.subnet_of(subnet), f"{service} trusts {network}, outside the compose network {subnet}"
            assert gateway not in network, f"{service} trusts the gateway {gateway}: a request to a published port could name any address"


def _environment(docs: list[dict], container: dict) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps (envFrom), then its own env entries."""
    maps = by_name(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= maps[source["configMapRef"]["name"]]["data"]
    return env | {entry["name"]: entry["value"] for entry in container.get("env", []) if "value" in entry}


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_every_intake_and_reporting_pod_trusts_the_pod_network(rendering):
    docs = render(rendering)
    deployments = by_name(docs, "Deployment")
    for service, (variable, _) in TRUSTING.items():
        (container,) = pod_spec(deployments[f"hub-{service}"])["containers"]
        _networks(service, _environment(docs, container).get(variable))
    assert of_kind(docs, "Ingress") == [], "intake and reporting are reached from pods only, so the pod CIDR is the portal's"


def test_prod_states_the_pod_cidr_itself_and_the_readme_tells_operators_to_set_theirs():
    config = config_map(render("prod"), "hub-config")["data"]
    prod = (ROOT / "deploy/k8s/overlays/prod/kustomization.yaml").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for variable, _ in TRUSTING.values():
        assert re.search(rf"^\s*- {variable}=", prod, re.M), f"the prod overlay must state {variable}, the cluster's pod CIDR"
        assert f"{variable}={config[variable]}" in readme, f"README must show {variable} as the manifests set it"
    assert "pod CIDR" in readme
