"""Who may read reports, and over which part of the tree."""

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlalchemy import exists, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_reporting.models import CaseFact, UnitRatingMonth
from hub_reporting.periods import BadPeriod
from hub_shared.auth import NATIONAL, Forbidden, Principal, Scope, principal_of
from hub_shared.reference import org_seed

READER_SCOPES = (Scope.status_read, Scope.cases_read)


def reader(runtime):
    """401 without a token; 403 unless it grants `status:read` or `cases:read`."""
    authenticated = principal_of(runtime.auth)

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not any(scope in principal.scopes for scope in READER_SCOPES):
            raise Forbidden(f"This token ({principal.role.value}) grants neither status:read nor cases:read.",
                            "این گزارش با دسترسی status:read یا cases:read دیده می‌شود.")
        return principal

    return dependency


class Unprocessable(HTTPException):
    def __init__(self, code: str, message_fa: str, message_en: str) -> None:
        super().__init__(status_code=422, detail={"code": code, "message_fa": message_fa, "message_en": message_en})

    @classmethod
    def of(cls, error: BadPeriod) -> "Unprocessable":
        return cls(error.code, error.message_fa, error.message_en)


async def subtree_root(session: AsyncSession, principal: Principal, unit: str | None) -> str:
    """The unit a report covers: the caller's own by default; 422 for a unit nobody knows, 403 outside the caller's."""
    unit = (unit or principal.unit).strip().strip("/")
    if not await _known(session, unit):
        raise Unprocessable("unknown_unit", f"واحد «{unit}» شناخته نیست.", f"Unknown unit {unit!r}; give a unit id such as labour/tehran.")
    if not principal.covers(unit) and not (unit == NATIONAL and principal.unit == NATIONAL):
        raise Forbidden(f"Unit {unit} is outside {principal.unit}.", "این واحد خارج از واحدهای تحت مسئولیت شماست.")
    return unit


async def _known(session: AsyncSession, unit: str) -> bool:
    if unit == NATIONAL or any(u.id == unit for u in org_seed().units):
        return True
    for column in (CaseFact.unit_id, UnitRatingMonth.unit_id):  # a month row for every unit ever rated, fewer rows
        if (await session.execute(select(exists().where(or_(column == unit, column.startswith(unit + "/", autoescape=True)))))).scalar():
            return True
    return False


def under(column, unit: str):
    """SQL: `column` is `unit` or below it."""
    if unit == NATIONAL:
        return column.isnot(None)
    return or_(column == unit, column.startswith(unit + "/", autoescape=True))


def child_of(root: str, unit_id: str) -> str:
    """The direct child of `root` on the path to `unit_id` (or `root` itself): the drill-down's next level."""
    if root == NATIONAL:
        return unit_id.split("/", 1)[0]
    if unit_id == root:
        return root
    rest = unit_id[len(root) + 1:]
    return f"{root}/{rest.split('/', 1)[0]}"
