"""Reference data shipped with the contract: the seeded organisation tree.

Intake checks that a named agency and province exist; routing builds its tree from the same file.
Run-time changes to the tree travel on `hub.org.v1` (a later step).
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name_fa: str
    kind: str
    parent_id: str | None
    agency: str | None = None
    province: str | None = None
    county: str | None = None


@dataclass(frozen=True)
class OrgSeed:
    agencies: dict[str, str]
    provinces: dict[str, str]
    counties: dict[str, tuple[str, str]]  # county code -> (province code, Persian name)
    units: tuple[OrgUnit, ...]


@cache
def org_seed() -> OrgSeed:
    raw = json.loads((Path(__file__).parent / "org_seed.json").read_text(encoding="utf-8"))
    return OrgSeed(
        agencies=raw["agencies"],
        provinces={code: p["name_fa"] for code, p in raw["provinces"].items()},
        counties={county: (code, name) for code, p in raw["provinces"].items() for county, name in p["counties"].items()},
        units=tuple(OrgUnit(**unit) for unit in raw["units"]),
    )
