"""The organisation tree in force and the questions routing asks it: a unit by id, the nearest unit of a
kind to where a matter happened, a unit's sub-units; and the tree routing starts from (`seed_tree`).

One `OrgTree` object lives for the whole process (`hub_routing.org.install` makes it); `replace_with`
swaps its contents in place when a change is applied, so every holder of the object sees the new tree.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from hub_routing.units import InvalidChange, OrgUnit, UnitKind, resolve
from hub_shared.events import OrgUnitUpserted, Target
from hub_shared.reference import OrgSeed, org_seed

log = logging.getLogger(__name__)
SEED_UNITS = Path(__file__).with_name("seed_units.yaml")
SEEDED_BY = "seed"
Place = tuple[str | None, str | None, str | None]  # agency, province, county


def places_nearest_first(agency: str, target: Target) -> list[Place]:
    """Where to look for the unit responsible for a matter, nearest first: the target's county (when named),
    its province, then the agency's HQ."""
    places: list[Place] = [(agency, target.province, target.county), (agency, target.province, None), (agency, None, None)]
    return places if target.county is not None else places[1:]


def place_path(place: Place) -> str:
    """The unit-id prefix of a place: `labour/isfahan/kashan`, `labour/isfahan`, `labour`."""
    return "/".join(part for part in place if part)


class OrgTree:
    def __init__(self, seed: OrgSeed | None = None) -> None:
        """The tree of the reference seed as shipped (the run-time tree comes from `hub_routing.org`)."""
        self.revision = 0
        self._units: dict[str, OrgUnit] = {}
        self._children: dict[str, set[str]] = {}
        self._by_place: dict[tuple[Place, str], set[str]] = {}
        for unit in seed.units if seed else ():
            self.put(OrgUnit(id=unit.id, name_fa=unit.name_fa, kind=UnitKind(unit.kind), parent_id=unit.parent_id,
                             agency=unit.agency, province=unit.province, county=unit.county, name_en=unit.name_en))

    @classmethod
    def of(cls, units: Iterable[OrgUnit], revision: int = 0) -> "OrgTree":
        tree = cls()
        for unit in units:
            tree.put(unit)
        tree.revision = revision
        return tree

    def unit(self, unit_id: str) -> OrgUnit | None:
        return self._units.get(unit_id)

    def children(self, unit_id: str) -> list[OrgUnit]:
        """The units directly below `unit_id`, by id."""
        return [self._units[child] for child in sorted(self._children.get(unit_id, ()))]

    def is_under(self, unit_id: str, ancestor_id: str) -> bool:
        """Whether `ancestor_id` is above `unit_id` in the tree (a unit is not under itself)."""
        unit = self._units.get(unit_id)
        while unit is not None and unit.parent_id is not None:
            if unit.parent_id == ancestor_id:
                return True
            unit = self._units.get(unit.parent_id)
        return False

    def units(self, parent: str | None = None, agency: str | None = None, province: str | None = None,
              kind: str | None = None) -> list[OrgUnit]:
        """Every unit that matches all the filters given, by id."""
        found = (self._units[i] for i in self._children.get(parent, ())) if parent else self._units.values()
        matching = (unit for unit in found if (agency is None or unit.agency == agency)
                    and (province is None or unit.province == province) and (kind is None or unit.kind == kind))
        return sorted(matching, key=lambda unit: unit.id)

    def nearest(self, target: Target, kind: str) -> OrgUnit | None:
        """The unit of `kind` nearest to where the matter happened: in the county, else in the province, else
        at the agency's HQ. Of several at one level, the one highest in the tree, then the first by id."""
        for place in places_nearest_first(target.agency, target):
            if found := self._by_place.get((place, str(getattr(kind, "value", kind)))):
                return self._units[min(found, key=lambda unit_id: (unit_id.count("/"), unit_id))]
        return None

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[OrgUnit]:
        return iter(sorted(self._units.values(), key=lambda unit: unit.id))

    # Changing the tree. The live tree only ever takes a whole, checked tree through `replace_with`;
    # `put` and `drop` build working copies (see `hub_routing.org`), which `hub_routing.units` has checked.

    def replace_with(self, other: "OrgTree") -> None:
        self._units, self._children, self._by_place, self.revision = other._units, other._children, other._by_place, other.revision

    def copy(self) -> "OrgTree":
        return OrgTree.of(self._units.values(), self.revision)

    def put(self, unit: OrgUnit) -> None:
        if unit.id in self._units:
            self.drop(unit.id)
        self._units[unit.id] = unit
        if unit.parent_id is not None:
            self._children.setdefault(unit.parent_id, set()).add(unit.id)
        self._by_place.setdefault((unit.place, unit.kind.value), set()).add(unit.id)

    def drop(self, unit_id: str) -> None:
        unit = self._units.pop(unit_id)
        self._children.get(unit.parent_id or "", set()).discard(unit_id)
        self._by_place.get((unit.place, unit.kind.value), set()).discard(unit_id)


def seed_tree(places: OrgSeed | None = None, extra: Path = SEED_UNITS) -> OrgTree:
    """The tree routing starts from: the reference seed's units, then `extra`, each checked like any change."""
    places = places or org_seed()
    tree = OrgTree()
    for change in _seed_changes(places, extra):
        try:
            tree.put(resolve(tree, change, places))
        except InvalidChange as refusal:
            log.warning("seed unit %s left out: %s", change.unit_id, refusal)
    return tree


def _seed_changes(places: OrgSeed, extra: Path) -> list[OrgUnitUpserted]:
    now = datetime.now(UTC)
    entries = [{"id": unit.id, "parent_id": unit.parent_id, "name_fa": unit.name_fa, "name_en": unit.name_en, "kind": unit.kind,
                "agency": unit.agency, "province": unit.province, "county": unit.county}
               for unit in sorted(places.units, key=lambda unit: (unit.parent_id is not None, unit.id.count("/"), unit.id))]
    entries += yaml.safe_load(extra.read_text(encoding="utf-8"))["units"]
    changes = []
    for entry in entries:
        fields = dict(entry)
        try:
            changes.append(OrgUnitUpserted(unit_id=fields.pop("id"), changed_by=SEEDED_BY, changed_at=now, **fields))
        except ValidationError as invalid:
            log.warning("seed unit %s left out: %s", entry.get("id"), invalid)
    return changes
