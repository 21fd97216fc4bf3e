"""The units of the organisation tree and the rules every change to them keeps.

The tree is layered: national → agency (دستگاه) → province (اداره کل) → county (شهرستان) → unit (واحد) →
sub-unit. A unit's id is its path below the national root (`labour/isfahan/kashan/security-office`), so a
unit's id is its parent's id plus one segment. A change that breaks a rule raises `InvalidChange` with a
reason in Persian and English, and the tree in force stays as it was.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from hub_shared.calendar import STANDARD, THURSDAY_WORKING
from hub_shared.events import OrgUnitUpserted, UnitContact
from hub_shared.reference import OrgSeed

ROOT = "national"
DEFAULT_CALENDAR = STANDARD
CALENDARS = frozenset({STANDARD, THURSDAY_WORKING})
"""Working calendars a unit may follow: the deployment's standard week, or one where Thursday is worked."""


class UnitKind(str, Enum):
    national = "national"  # the presidential people's-communication centre, the root
    agency = "agency"  # دستگاه: a ministry or national organisation
    provincial_directorate = "provincial_directorate"  # اداره کل استان
    county_office = "county_office"  # اداره شهرستان
    performance_office = "performance_office"  # دفتر مدیریت عملکرد، بازرسی و رسیدگی به شکایات
    specialised_unit = "specialised_unit"  # e.g. cooperatives, labour relations, Umrah and Atabat
    security_office = "security_office"  # حراست
    economic_deputy = "economic_deputy"  # معاونت اقتصادی: subsidiary companies
    affiliated_organisation = "affiliated_organisation"  # سازمان وابسته
    sub_unit = "sub_unit"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name_fa: str
    kind: UnitKind
    parent_id: str | None
    agency: str | None = None
    province: str | None = None
    county: str | None = None
    calendar: str = DEFAULT_CALENDAR
    name_en: str | None = None  # the unit's English name, when it has one
    contact: UnitContact = field(default_factory=UnitContact)

    @property
    def place(self) -> tuple[str | None, str | None, str | None]:
        return self.agency, self.province, self.county


class Units(Protocol):
    def unit(self, unit_id: str) -> OrgUnit | None: ...
    def children(self, unit_id: str) -> list[OrgUnit]: ...


class InvalidChange(Exception):
    def __init__(self, code: str, reason_fa: str, reason_en: str) -> None:
        super().__init__(f"{code}: {reason_en}")
        self.code, self.reason_fa, self.reason_en = code, reason_fa, reason_en


def resolve(units: Units, change: OrgUnitUpserted, places: OrgSeed) -> OrgUnit:
    """The unit `change` makes, its omitted agency, province and county taken from its id and its parent;
    raises InvalidChange when the change would break the tree."""
    kind, calendar = _kind(change.kind), _calendar(change.calendar)
    if change.unit_id == ROOT:
        return _root(change, kind, calendar)
    if change.parent_id is None:
        raise InvalidChange("missing_parent", "هر واحد جز ریشه ملی باید واحد بالادست داشته باشد.",
                            f"Every unit but the national root needs a parent; {change.unit_id!r} names none.")
    parent = units.unit(change.parent_id)
    if parent is None:
        raise InvalidChange("unknown_parent", f"واحد بالادست «{change.parent_id}» در درخت سازمانی نیست.",
                            f"The parent {change.parent_id!r} is not in the organisation tree; create it first.")
    if change.parent_id == change.unit_id or change.unit_id in (a.id for a in ancestry(units, parent)):
        raise InvalidChange("cycle", "واحد نمی‌تواند زیرمجموعه خودش باشد.",
                            f"{change.unit_id!r} would become its own ancestor through {change.parent_id!r}.")
    if change.unit_id.rpartition("/")[0] != ("" if parent.id == ROOT else parent.id):
        raise InvalidChange("id_outside_parent_path", "شناسه واحد باید شناسه واحد بالادست به‌اضافه یک بخش باشد.",
                            f"The id {change.unit_id!r} must be the parent's id {parent.id!r} plus one segment.")
    if kind is UnitKind.national:
        raise InvalidChange("national_is_root", "فقط ریشه درخت از نوع ملی است.", "Only the root of the tree is of kind national.")
    unit = OrgUnit(id=change.unit_id, name_fa=change.name_fa, kind=kind, parent_id=parent.id,
                   agency=change.agency or change.unit_id.split("/")[0], province=change.province or parent.province,
                   county=change.county or parent.county, calendar=calendar, contact=change.contact, name_en=change.name_en)
    _check_place(unit, parent, places)
    _check_children_keep_place(units, unit)
    return unit


def check_removal(units: Units, unit_id: str) -> OrgUnit:
    unit = units.unit(unit_id)
    if unit is None:
        raise InvalidChange("unknown_unit", f"واحد «{unit_id}» در درخت سازمانی نیست.", f"There is no unit {unit_id!r}.")
    if children := units.children(unit_id):
        raise InvalidChange("has_children", "واحدی که زیرمجموعه دارد حذف نمی‌شود؛ نخست زیرمجموعه‌ها را حذف یا جابه‌جا کنید.",
                            f"{unit_id!r} has {len(children)} sub-units ({children[0].id!r}, ...); remove or move them first.")
    if unit_id == ROOT:
        raise InvalidChange("root_not_removable", "ریشه درخت حذف نمی‌شود.", "The national root cannot be removed.")
    return unit


def ancestry(units: Units, unit: OrgUnit) -> Iterator[OrgUnit]:
    """`unit`, its parent, and so on up to the root."""
    current: OrgUnit | None = unit
    while current is not None:
        yield current
        current = units.unit(current.parent_id) if current.parent_id else None


def _kind(kind: str) -> UnitKind:
    try:
        return UnitKind(kind)
    except ValueError:
        raise InvalidChange("unknown_kind", f"نوع واحد «{kind}» تعریف نشده است.",
                            f"Unknown unit kind {kind!r}; use one of {sorted(k.value for k in UnitKind)}.") from None


def _calendar(calendar: str) -> str:
    if calendar not in CALENDARS:
        raise InvalidChange("unknown_calendar", f"تقویم کاری «{calendar}» تعریف نشده است.",
                            f"Unknown working calendar {calendar!r}; use one of {sorted(CALENDARS)}.")
    return calendar


def _root(change: OrgUnitUpserted, kind: UnitKind, calendar: str) -> OrgUnit:
    if change.parent_id is not None or kind is not UnitKind.national or change.agency or change.province or change.county:
        raise InvalidChange("national_is_root", "ریشه درخت از نوع ملی است، واحد بالادست ندارد و به دستگاه یا استانی تعلق ندارد.",
                            "The root is of kind national, has no parent and belongs to no agency, province or county.")
    return OrgUnit(id=ROOT, name_fa=change.name_fa, kind=kind, parent_id=None, calendar=calendar, contact=change.contact,
                   name_en=change.name_en)


def _check_place(unit: OrgUnit, parent: OrgUnit, places: OrgSeed) -> None:
    if unit.agency != unit.id.split("/")[0]:
        raise InvalidChange("place_mismatch", "دستگاه واحد باید همان بخش نخست شناسه آن باشد.",
                            f"The agency of {unit.id!r} is {unit.id.split('/')[0]!r}, not {unit.agency!r}.")
    for name, own, inherited in (("province", unit.province, parent.province), ("county", unit.county, parent.county)):
        if inherited is not None and own != inherited:
            raise InvalidChange("place_mismatch", "واحد باید در همان استان و شهرستانِ واحد بالادست باشد.",
                                f"{unit.id!r} names {name} {own!r} but its parent {parent.id!r} is in {inherited!r}.")
    if unit.province is not None and unit.province not in places.provinces:
        raise InvalidChange("unknown_province", f"استان «{unit.province}» در داده‌های مرجع نیست.",
                            f"Province {unit.province!r} is not in the reference data.")
    if unit.county is not None and places.counties.get(unit.county, ("",))[0] != unit.province:
        raise InvalidChange("unknown_county", f"شهرستان «{unit.county}» در استان «{unit.province}» در داده‌های مرجع نیست.",
                            f"County {unit.county!r} is not a county of province {unit.province!r} in the reference data.")


def _check_children_keep_place(units: Units, unit: OrgUnit) -> None:
    before = units.unit(unit.id)
    if before is not None and before.place != unit.place and units.children(unit.id):
        raise InvalidChange("place_change_with_children", "دستگاه، استان یا شهرستانِ واحدی که زیرمجموعه دارد تغییر نمی‌کند.",
                            f"{unit.id!r} has sub-units, so its agency, province and county stay {before.place}.")
