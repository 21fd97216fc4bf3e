"""The citizen's address for intake's per-address limits. A request that comes through a proxy the deployment
trusts (the citizen's portal, `HUB_INTAKE_TRUSTED_PROXIES`) is counted against the address that proxy names in
`X-Forwarded-For`, not against the proxy, so one busy portal does not exhaust every citizen's allowance. From any
other peer the header is ignored: a client cannot choose its own bucket."""

import ipaddress
from collections.abc import Callable

from fastapi import Request

from hub_shared.ratelimit import client_ip


def citizen_address(trusted: str) -> Callable[[Request], str]:
    """`request` → the address to count it against, given comma-separated trusted addresses or networks."""
    networks = [ipaddress.ip_network(item.strip(), strict=False) for item in trusted.split(",") if item.strip()]

    def address(request: Request) -> str:
        peer = client_ip(request)
        forwarded = request.headers.get("x-forwarded-for", "")
        if not networks or not forwarded or not _within(peer, networks):
            return peer
        return forwarded.rsplit(",", 1)[-1].strip() or peer  # the hop the trusted proxy added

    return address


def _within(peer: str, networks: list) -> bool:
    try:
        return any(ipaddress.ip_address(peer) in network for network in networks)
    except ValueError:
        return False
