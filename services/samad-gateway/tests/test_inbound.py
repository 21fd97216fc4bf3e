"""Cases pushed or polled from a remote are submitted once each, whatever the number of deliveries."""

from hub_gateway.contract import RemoteCase
from hub_gateway.polling import poll_once
from hub_shared.events import SubmitCase
from hub_shared.testing import staged

from .conftest import TOKEN


async def test_a_pushed_case_is_submitted_once_however_often_it_arrives(pair) -> None:
    await pair.faults(duplicate_pushes=True)
    case = await pair.create_case()
    assert case["push_results"] == ["202 accepted", "202 duplicate"]
    body = case["case"]
    again = await pair.gateway.post("/api/v1/remotes/samad/cases", json=body, headers={"authorization": f"Bearer {TOKEN}"})
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    await poll_once(pair.runtime, pair.runtime.remotes["samad"], _mapping(pair))  # still listed: the fault keeps it there

    commands = [e.data for e in await staged(pair.runtime) if isinstance(e.data, SubmitCase)]
    assert [(c.source.system, c.source.ref, c.channel.value) for c in commands] == [("samad-gateway", f"samad:{body['external_id']}", "samad")]


async def test_a_case_the_push_missed_is_found_by_polling_and_acknowledged(pair) -> None:
    case = (await pair.create_case(push=False))["case"]
    assert await poll_once(pair.runtime, pair.runtime.remotes["samad"], _mapping(pair)) == 1
    assert (await pair.samad.get(f"/admin/cases/{case['external_id']}")).json()["acknowledged"]
    assert await poll_once(pair.runtime, pair.runtime.remotes["samad"], _mapping(pair)) == 0


async def test_a_push_needs_the_remotes_secret_and_known_codes(pair) -> None:
    body = RemoteCase(external_id="X-1", kind="SHEKAYAT", unit_code="LABOUR-FARS-SHIRAZ", title="t", description="d").model_dump(mode="json")
    url = "/api/v1/remotes/samad/cases"
    assert (await pair.gateway.post(url, json=body)).status_code == 401
    assert (await pair.gateway.post(url, json=body, headers={"authorization": "Bearer wrong-secret-entirely"})).status_code == 401
    unknown = await pair.gateway.post(url, json={**body, "kind": "NOPE"}, headers={"authorization": f"Bearer {TOKEN}"})
    assert unknown.status_code == 422 and "kinds" in unknown.json()["error"]["message_en"]
    not_connected = await pair.gateway.post("/api/v1/remotes/inspection_org/cases", json=body, headers={"authorization": f"Bearer {TOKEN}"})
    assert not_connected.status_code == 404
    assert await staged(pair.runtime) == []


def _mapping(pair):
    from hub_gateway.mapping import SHIPPED, load

    return load(SHIPPED)["samad"]
