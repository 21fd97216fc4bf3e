"""HTTP: remotes push cases here (authenticated by the secret the hub shares with each remote), and
operations staff reconcile a remote on demand or look at its circuit and queue."""

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel
from sqlmodel import col, func, select

from hub_gateway.breaker import CircuitOpen
from hub_gateway.contract import Receipt, RemoteCase
from hub_gateway.inbound import receive
from hub_gateway.mapping import RemoteMapping, Unmappable
from hub_gateway.reconcile import ReconcileReport, reconcile
from hub_gateway.remotes import Refused, Remote, Unavailable
from hub_gateway.settings import GatewaySettings
from hub_shared.auth import AUTH_RESPONSES, STAFF, Forbidden, Principal, Scope, requires
from hub_shared.service import Runtime, problem

RemoteName = Literal["samad", "inspection_org"]


class RemoteState(BaseModel):
    remote: str
    connected: bool
    circuit: str
    pending: int
    refused: int


def _unauthorised() -> HTTPException:
    return HTTPException(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="samad-gateway"'}, detail=problem(
        "not_authenticated", "کلید سامانه فرستنده معتبر نیست.", "The remote's shared secret is missing or wrong.")["error"])


def router(runtime: Runtime, settings: GatewaySettings, remotes: dict[str, Remote], mappings: dict[str, RemoteMapping]) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["gateway"])
    staff = requires(runtime.auth, Scope.status_read)

    def ops(principal: Annotated[Principal, Depends(staff)]) -> Principal:
        if principal.role not in STAFF:
            raise Forbidden(f"Role {principal.role.value} is not operations staff.", "این کار فقط برای کارکنان مجاز است.")
        return principal

    @api.post("/remotes/{remote}/cases", status_code=202, response_model=Receipt, responses={
        401: {"description": "Missing or wrong shared secret of that remote"},
        404: {"description": "That remote is not connected"},
        422: {"description": "Invalid case, or a kind or unit code the mapping tables do not know"}})
    async def push_case(remote: RemoteName, case: RemoteCase, request: Request) -> Receipt:
        """A remote pushes one case. Idempotent by `external_id`: a repeat answers `duplicate` and changes nothing."""
        if remote not in remotes:
            raise HTTPException(404, problem("remote_not_connected", "این سامانه به درگاه متصل نیست.",
                                             f"{remote} is not connected (HUB_GATEWAY_{remote.upper()}_URL).")["error"])
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.token(remote).encode()):
            raise _unauthorised()
        try:
            return Receipt(external_id=case.external_id, status=await receive(runtime, remote, mappings[remote], case))
        except Unmappable as unknown:
            raise HTTPException(422, problem("unmapped_code", "کد نوع یا واحد در جدول‌های تطبیق تعریف نشده است.", str(unknown))["error"])

    @api.post("/reconcile", response_model=ReconcileReport, responses={
        **AUTH_RESPONSES, 404: {"description": "That remote is not connected"}, 503: {"description": "The remote cannot be reached now"}})
    async def reconcile_remote(remote: Annotated[RemoteName, Query()], _: Annotated[Principal, Depends(ops)]) -> ReconcileReport:
        """Compare the remote's status of every known case with the hub's and queue the latest state again where they differ."""
        if remote not in remotes:
            raise HTTPException(404, problem("remote_not_connected", "این سامانه به درگاه متصل نیست.", f"{remote} is not connected.")["error"])
        try:
            return await reconcile(runtime.sessions, remotes[remote], mappings[remote])
        except (Unavailable, Refused, CircuitOpen) as failure:
            raise HTTPException(503, problem("remote_unavailable", "سامانه مقصد در دسترس نیست؛ بعداً دوباره تلاش کنید.",
                                             f"{failure}; try again later.")["error"])

    @api.get("/remotes", response_model=list[RemoteState], responses=AUTH_RESPONSES)
    async def remote_states(_: Annotated[Principal, Depends(ops)]) -> list[RemoteState]:
        """Each remote's circuit and how many updates wait in (or were refused from) its queue."""
        from hub_gateway.models import Delivery

        async with runtime.sessions() as session:
            counts = dict((tuple(row[:2]), row[2]) for row in (await session.exec(
                select(Delivery.remote, Delivery.state, func.count(col(Delivery.id))).group_by(Delivery.remote, Delivery.state))).all())
        return [RemoteState(remote=name, connected=name in remotes, circuit=remotes[name].breaker.state if name in remotes else "closed",
                            pending=counts.get((name, "pending"), 0), refused=counts.get((name, "refused"), 0))
                for name in ("samad", "inspection_org")]

    return api
