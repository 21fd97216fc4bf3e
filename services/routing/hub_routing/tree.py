"""The organisation tree and the choice of the nearest responsible unit."""

from dataclasses import dataclass

from hub_shared.events import RoutingDecision, Target
from hub_shared.reference import OrgSeed, OrgUnit


@dataclass(frozen=True)
class NoResponsibleUnit(Exception):
    reason_code: str
    reason_fa: str
    reason_en: str


class OrgTree:
    def __init__(self, seed: OrgSeed) -> None:
        self._units = {unit.id: unit for unit in seed.units}

    def unit(self, unit_id: str) -> OrgUnit | None:
        return self._units.get(unit_id)

    def responsible_unit(self, target: Target) -> tuple[OrgUnit, RoutingDecision]:
        """The performance office nearest to where the matter happened: county, else province, else HQ."""
        candidates = [
            (f"{target.agency}/{target.province}/{target.county}/performance-office", "nearest-level:county"),
            (f"{target.agency}/{target.province}/performance-office", "nearest-level:province"),
            (f"{target.agency}/performance-office", "nearest-level:agency-hq"),
        ]
        if target.county is None:
            candidates = candidates[1:]
        for unit_id, rule in candidates:
            if unit := self._units.get(unit_id):
                return unit, RoutingDecision(rule=rule, explanation=f"{target.agency}/{target.province}/{target.county or '-'} -> {unit_id}")
        raise NoResponsibleUnit(
            "unclear_target",
            "مرجع رسیدگی در درخواست به‌طور دقیق مشخص نشده است.",
            f"No responsible unit for agency {target.agency!r} in {target.province!r}; the target authority is not precise.",
        )
