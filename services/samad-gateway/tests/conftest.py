"""A gateway on SQLite wired to an in-process simulator of SAMAD, both ways, without sockets."""

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub_gateway.app import create_runtime
from hub_gateway.settings import GatewaySettings
from hub_gateway.simulator.app import create_app
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.testing import LateApp

TOKEN = "samad-shared-secret-for-tests"


@dataclass
class Pair:
    runtime: Runtime
    gateway: httpx.AsyncClient
    samad: httpx.AsyncClient

    async def create_case(self, **body) -> dict:
        response = await self.samad.post("/admin/cases", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def faults(self, **faults) -> None:
        assert (await self.samad.put("/admin/faults", json=faults)).status_code == 200

    async def updates(self, external_id: str) -> list[dict]:
        return (await self.samad.get(f"/admin/cases/{external_id}")).json()["updates"]


def gateway_settings(**changes) -> GatewaySettings:
    return GatewaySettings(**{"samad_url": "http://samad", "samad_token": TOKEN, "retry_attempts": 2, "retry_initial_seconds": 0.01,
                              "retry_max_seconds": 0.02, "breaker_failures": 3, "breaker_cooldown_seconds": 0.2, **changes})


def build(data_dir: Path, samad: FastAPI | None = None, **changes) -> tuple[Runtime, FastAPI]:
    to_samad, to_gateway = LateApp(), LateApp()
    runtime = create_runtime(HubSettings(service_name="samad-gateway", data_dir=data_dir, database_url=""), gateway_settings(**changes),
                             transport=httpx.ASGITransport(app=to_samad))
    runtime.migrate()
    samad = samad or create_app("samad", "http://gateway", TOKEN, transport=httpx.ASGITransport(app=to_gateway))
    to_samad.app, to_gateway.app = samad, runtime.app()
    return runtime, samad


@pytest.fixture
async def pair(tmp_path: Path):
    runtime, samad = build(tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://gateway") as gateway, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=samad), base_url="http://samad") as samad_client:
        yield Pair(runtime, gateway, samad_client)
    await runtime.engine.dispose()
