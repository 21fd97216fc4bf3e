"""A remote simulator: one FastAPI app per remote (SAMAD or the inspection organization).

Remote side of the contract (called by the gateway, with the shared secret):
  GET  /cases?pending=true                 cases the hub has not acknowledged yet (for polling)
  POST /cases/{id}/acknowledgement          the hub took (or refused) a polled case
  POST /cases/{id}/updates                  a status update or the final answer; acknowledged by update_id
  GET  /cases/{id}                          the simulator's status of the case (for reconciliation)
Admin side (tests and people, no secret):
  POST /admin/cases                         create a case; `push: true` pushes it to the gateway as well
  GET  /admin/cases/{id}                    the case with every update received, in arrival order
  PUT  /admin/cases/{id}/status             overwrite its status (drift, for reconciliation)
  PUT  /admin/faults, GET /admin/faults     fault injection (see `Faults`)
"""

import asyncio
import random
import uuid
from datetime import UTC, datetime

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from hub_gateway.contract import CaseAcknowledgement, Complainant, RemoteCase, RemoteStatus, StatusUpdate, UpdateAcknowledgement

DEFAULT_CASE = {"samad": {"kind": "SHEKAYAT", "unit_code": "LABOUR-FARS-SHIRAZ"}, "inspection_org": {"kind": "complaint", "unit_code": "0711"}}


class Faults(BaseModel):
    down: bool = Field(False, description="answer 503 to every gateway call")
    error_rate: float = Field(0, ge=0, le=1, description="share of gateway calls answered 500 at random")
    delay_seconds: float = Field(0, ge=0, le=60, description="wait before answering (beyond the gateway's timeout: a timeout)")
    duplicate_pushes: bool = Field(False, description="push every new case twice, and keep listing it after acknowledgement")
    stale_acks: int = Field(0, ge=0, description="acknowledge the next N updates with the previous update's id")


class NewCase(BaseModel):
    external_id: str | None = None
    kind: str | None = None
    unit_code: str | None = None
    title: str = "تاخیر در رسیدگی به درخواست"
    description: str = "درخواست من در سامانه چند ماه است بی‌پاسخ مانده است."
    complainant: Complainant | None = None
    push: bool = True


class SimulatedCase(BaseModel):
    case: RemoteCase
    acknowledged: bool = False
    status: str | None = None
    last_sequence: int = 0
    tracking_code: str | None = None
    updates: list[StatusUpdate] = []
    push_results: list[str] = []


def national_id() -> str:
    while True:
        body = f"{random.randrange(10**9):09d}"
        remainder = sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
        value = body + str(remainder if remainder < 2 else 11 - remainder)
        if len(set(value)) > 1:
            return value


def create_app(remote: str, gateway_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app = FastAPI(title=f"{remote} simulator")
    cases: dict[str, SimulatedCase] = {}
    state = {"faults": Faults(), "last_update_id": None}

    async def gateway_call(request: Request) -> None:
        faults: Faults = state["faults"]
        if request.headers.get("authorization") != f"Bearer {token}":
            raise HTTPException(401, "wrong shared secret")
        if faults.delay_seconds:
            await asyncio.sleep(faults.delay_seconds)
        if faults.down:
            raise HTTPException(503, "simulated outage")
        if faults.error_rate and random.random() < faults.error_rate:
            raise HTTPException(500, "simulated failure")

    def known(external_id: str) -> SimulatedCase:
        if external_id not in cases:
            raise HTTPException(404, f"no case {external_id}")
        return cases[external_id]

    @app.get("/health/live")
    @app.get("/health/ready")
    async def health() -> dict:
        return {"status": "ready", "service": f"{remote}-simulator"}

    @app.get("/cases", dependencies=[Depends(gateway_call)])
    async def pending() -> dict:
        keep_listing = state["faults"].duplicate_pushes
        return {"cases": [c.case.model_dump(mode="json") for c in cases.values() if keep_listing or not c.acknowledged]}

    @app.post("/cases/{external_id}/acknowledgement", dependencies=[Depends(gateway_call)])
    async def acknowledge(external_id: str, ack: CaseAcknowledgement) -> dict:
        known(external_id).acknowledged = True
        return {"external_id": external_id}

    @app.post("/cases/{external_id}/updates", dependencies=[Depends(gateway_call)])
    async def update(external_id: str, body: StatusUpdate) -> UpdateAcknowledgement:
        case = known(external_id)
        case.updates.append(body)
        if body.sequence > case.last_sequence:  # an older or repeated update changes nothing
            case.status, case.last_sequence = body.status, body.sequence
            case.tracking_code = body.tracking_code or case.tracking_code
        previous, state["last_update_id"] = state["last_update_id"], body.update_id
        if state["faults"].stale_acks and previous:
            state["faults"] = state["faults"].model_copy(update={"stale_acks": state["faults"].stale_acks - 1})
            return UpdateAcknowledgement(update_id=previous)
        return UpdateAcknowledgement(update_id=body.update_id, sequence=body.sequence)

    @app.get("/cases/{external_id}", dependencies=[Depends(gateway_call)])
    async def status(external_id: str) -> RemoteStatus:
        case = known(external_id)
        return RemoteStatus(external_id=external_id, status=case.status, last_sequence=case.last_sequence)

    @app.post("/admin/cases", status_code=201)
    async def create(new: NewCase) -> SimulatedCase:
        defaults = DEFAULT_CASE[remote]
        case = RemoteCase(
            external_id=new.external_id or f"{remote.upper()[:4]}-{uuid.uuid4().hex[:10]}",
            kind=new.kind or defaults["kind"], unit_code=new.unit_code or defaults["unit_code"], title=new.title,
            description=f"{new.description} ({uuid.uuid4().hex[:6]})", received_at=datetime.now(UTC),
            complainant=new.complainant or Complainant(full_name="زهرا محمدی", national_id=national_id(), phone="09171234567",
                                                       address="شیراز، خیابان زند، پلاک ۱۲"))
        simulated = cases.setdefault(case.external_id, SimulatedCase(case=case))
        if new.push:
            for _ in range(2 if state["faults"].duplicate_pushes else 1):
                simulated.push_results.append(await push(case))
        return simulated

    async def push(case: RemoteCase) -> str:
        try:
            async with httpx.AsyncClient(base_url=gateway_url, timeout=10, transport=transport) as client:
                response = await client.post(f"/api/v1/remotes/{remote}/cases", json=case.model_dump(mode="json"),
                                             headers={"authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            return f"error: {type(exc).__name__}"  # the case stays listed for polling
        if response.status_code == 202:
            cases[case.external_id].acknowledged = True
        return f"{response.status_code} {response.json().get('status', '') if response.status_code == 202 else response.text[:200]}"

    @app.get("/admin/cases/{external_id}")
    async def show(external_id: str) -> SimulatedCase:
        return known(external_id)

    @app.put("/admin/cases/{external_id}/status")
    async def overwrite(external_id: str, status: RemoteStatus) -> SimulatedCase:
        """Set what the simulator believes, as a remote restored from an old backup would: drift to reconcile."""
        case = known(external_id)
        case.status, case.last_sequence = status.status, status.last_sequence
        return case

    @app.get("/admin/faults")
    async def faults() -> Faults:
        return state["faults"]

    @app.put("/admin/faults")
    async def set_faults(faults: Faults) -> Faults:
        state["faults"] = faults
        return faults

    return app
