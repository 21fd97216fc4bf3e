"""The port every remote sits behind, and its HTTP adapters (SAMAD and the inspection organization).

Every call goes through the remote's circuit breaker. `Unavailable` (timeouts, connection errors, 408,
429, 5xx, a wrong acknowledgement) is worth retrying; `Refused` (other 4xx) is final for that call.
"""

from typing import Protocol

import httpx

from hub_gateway.breaker import CircuitBreaker
from hub_gateway.contract import CaseAcknowledgement, RemoteCase, RemoteStatus, StatusUpdate, UpdateAcknowledgement

RETRYABLE = {408, 425, 429}


class Unavailable(Exception):
    """The remote did not take the call now; try again later."""


class Refused(Exception):
    """The remote refused the call for good (a 4xx other than 408/425/429)."""


class Remote(Protocol):
    name: str
    breaker: CircuitBreaker

    async def pending_cases(self) -> list[RemoteCase]: ...
    async def acknowledge_case(self, external_id: str, ack: CaseAcknowledgement) -> None: ...
    async def push_update(self, update: StatusUpdate) -> None: ...
    async def status_of(self, external_id: str) -> RemoteStatus: ...


class HttpRemote:
    """A remote speaking the contract of docs/gateway-openapi.yaml (the `remote` operations)."""

    def __init__(self, name: str, base_url: str, token: str, breaker: CircuitBreaker, timeout: float = 10,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self.breaker = breaker
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport,
                                         headers={"authorization": f"Bearer {token}"})

    async def pending_cases(self) -> list[RemoteCase]:
        body = await self._call("GET", "/cases", params={"pending": "true"})
        return [RemoteCase.model_validate(item) for item in body.get("cases", [])]

    async def acknowledge_case(self, external_id: str, ack: CaseAcknowledgement) -> None:
        await self._call("POST", f"/cases/{external_id}/acknowledgement", json=ack.model_dump(mode="json"))

    async def push_update(self, update: StatusUpdate) -> None:
        body = await self._call("POST", f"/cases/{update.external_id}/updates", json=update.model_dump(mode="json"))
        ack = UpdateAcknowledgement.model_validate(body)
        if ack.update_id != update.update_id:  # a late or stray acknowledgement of another update
            self.breaker.failed()
            raise Unavailable(f"{self.name} acknowledged {ack.update_id} instead of {update.update_id}")

    async def status_of(self, external_id: str) -> RemoteStatus:
        return RemoteStatus.model_validate(await self._call("GET", f"/cases/{external_id}"))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        self.breaker.check()
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.breaker.failed()
            raise Unavailable(f"{self.name} {method} {path}: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            self.breaker.failed()
            raise Unavailable(f"{self.name} {method} {path}: HTTP {response.status_code}")
        self.breaker.succeeded()  # the remote is up, even when it refuses this call
        if response.status_code >= 400:
            raise Refused(f"{self.name} {method} {path}: HTTP {response.status_code} {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise Unavailable(f"{self.name} {method} {path}: the answer is not JSON") from exc
