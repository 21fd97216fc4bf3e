"""The reconcile catalog of case-stream groups says what each service's subscriptions really handle."""

import importlib

import pytest

from hub_shared.groups import CASE_STREAM_GROUPS
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES

SERVICES = {"intake": "hub_intake", "routing": "hub_routing", "followup": "hub_followup", "reporting": "hub_reporting",
            "samad-gateway": "hub_gateway"}


@pytest.fixture(scope="module")
def subscriptions(tmp_path_factory) -> list[tuple[str, object]]:
    found = []
    for service, package in SERVICES.items():
        settings = HubSettings(service_name=service, data_dir=tmp_path_factory.mktemp(service))
        runtime = importlib.import_module(f"{package}.app").create_runtime(settings)
        found += [(service, sub) for sub in runtime.subscriptions]
    return found


@pytest.fixture(scope="module")
def subscribed(subscriptions) -> dict[str, tuple[str, frozenset[str]]]:
    return {sub.group: (service, frozenset(sub.handlers)) for service, sub in subscriptions if sub.topic == CASES.name}


def test_each_consumer_group_reads_one_topic_for_one_service(subscriptions) -> None:
    """Members of one group that read different topics get each other's partitions from some brokers' assignments,
    and skip what they were handed as not theirs."""
    owners = {}
    for service, sub in subscriptions:
        assert owners.setdefault(sub.group, (service, sub.topic)) == (service, sub.topic), sub.group
    assert len(owners) == len(subscriptions)


def test_every_case_stream_group_is_in_the_catalog_with_what_it_handles(subscribed) -> None:
    catalog = {group.name: (group.service, group.handles) for group in CASE_STREAM_GROUPS}
    assert catalog.keys() == subscribed.keys()
    for name, (service, handles) in subscribed.items():
        assert catalog[name][0] == service, name
        assert catalog[name][1] == handles, f"{name}: catalog lacks {handles - catalog[name][1]}, has extra {catalog[name][1] - handles}"
