"""Mapping tables between a remote's codes and the hub's, and the translation of a remote case into
the `SubmitCase` command intake registers (source `samad-gateway`, reference `<remote>:<external id>`)."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from hub_gateway.contract import RemoteCase
from hub_shared.events import CaseKind, Channel, Identity, SourceRef, SubmitCase, Target

SYSTEM = "samad-gateway"
SHIPPED = Path(__file__).with_name("mappings.yaml")


class RemoteMapping(BaseModel):
    channel: Channel
    kinds: dict[str, CaseKind]
    units: dict[str, Target]
    statuses: dict[str, str] = {}

    def remote_status(self, status: str) -> str:
        return self.statuses.get(status, status)


class Unmappable(ValueError):
    """The remote sent a code the mapping tables do not know; the message names the table to extend."""


def load(path: Path | None) -> dict[str, RemoteMapping]:
    path = path or SHIPPED
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {remote: RemoteMapping.model_validate(table) for remote, table in raw.items()}
    except (OSError, yaml.YAMLError, ValidationError, AttributeError) as invalid:
        raise SystemExit(f"HUB_GATEWAY_MAPPINGS_FILE {path}: {invalid}") from None


def source_ref(remote: str, external_id: str) -> str:
    return f"{remote}:{external_id}"


def parse_ref(ref: str | None) -> tuple[str, str] | None:
    remote, sep, external_id = (ref or "").partition(":")
    return (remote, external_id) if sep and remote and external_id else None


def to_submission(remote: str, mapping: RemoteMapping, case: RemoteCase) -> SubmitCase:
    kind = mapping.kinds.get(case.kind)
    if kind is None:
        raise Unmappable(f"kind {case.kind!r} of {remote} is not in the mapping table 'kinds'")
    target = mapping.units.get(case.unit_code)
    if target is None:
        raise Unmappable(f"unit {case.unit_code!r} of {remote} is not in the mapping table 'units'")
    identity = Identity(**case.complainant.model_dump()) if case.complainant else None
    return SubmitCase(source=SourceRef(system=SYSTEM, ref=source_ref(remote, case.external_id)), channel=mapping.channel,
                      kind=kind, identity=identity, title=case.title, description=case.description, target=target,
                      confidential=case.confidential, received_at=case.received_at)
