"""The cartable's search, filters, tabs and deadline risk: what the staff page asks follow-up's inbox for, and how
it shows the answer. The search box takes a tracking code (11 digits) or a case number (1405-00000042, or the year
and the number without the zeros: 1405-42), in Persian or Latin digits. None of it is personal data, so it may sit
in the page's URL."""

import re
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from hub_shared.access import UNIT_PATTERN
from hub_shared.events.describe import CHANNEL_FA
from hub_shared.reference import topics
from hub_shared.text import normalize_digits
from hub_web.i18n import KINDS
from hub_web.upstream import Unavailable

DUE_SOON_DAYS = 5  # working days left at which a case turns from on track to due soon
RISKS = {
    "overdue": ("گذشته از مهلت", "Overdue"),
    "due_soon": ("نزدیک به مهلت", "Due soon"),
    "on_track": ("در مهلت", "On track"),
}
CHANNELS = {name: (fa, name.replace("_", " ").capitalize()) for name, fa in CHANNEL_FA.items()} | {
    "phone_111": ("سامانه ۱۱۱", "Phone 111"), "samad": ("سامد", "SAMAD"), "email": ("پست الکترونیک", "E-mail"),
    "inspection_org": ("سازمان بازرسی", "Inspection organization")}
_CASE_NUMBER = re.compile(r"^([0-9]{4})[-/]([0-9]{1,8})$")


def topic_names() -> dict[str, tuple[str, str]]:
    return {topic.id: (topic.label_fa, topic.label_en) for topic in topics()}


@dataclass(frozen=True)
class Filters:
    code: str = ""  # as typed, for the search box
    kind: str = ""
    topic: str = ""
    channel: str = ""
    stage: str = ""
    unit: str = ""
    overdue: bool = False

    def query(self, **changes) -> str:
        """This page's URL query, with `changes` (e.g. another tab): empty values left out."""
        values = asdict(replace(self, **changes))
        return urlencode({name: ("1" if value is True else value) for name, value in values.items() if value})

    @property
    def any(self) -> bool:
        return any(asdict(self).values())


def read_filters(code: str, kind: str, topic: str, channel: str, stage: str, unit: str, overdue: str,
                 stages: dict) -> Filters:
    """The filters the query names, unknown values dropped (a hand-edited URL shows every case, not an error)."""
    return Filters(code=" ".join(code.split())[:40], kind=kind if kind in KINDS else "", topic=topic if topic in topic_names() else "",
                   channel=channel if channel in CHANNELS else "", stage=stage if stage in stages else "",
                   unit=unit if len(unit) <= 200 and re.fullmatch(UNIT_PATTERN, unit) else "", overdue=overdue == "1")


def search_terms(code: str) -> dict[str, str] | None:
    """The inbox parameter the search box names: a tracking code or a case number; {} for none, None if neither."""
    typed = normalize_digits(code.replace("-", "§").replace("/", "§")).replace("§", "-")
    if not typed:
        return {}
    if re.fullmatch(r"[0-9]{11}", typed):
        return {"tracking_code": typed}
    if match := _CASE_NUMBER.fullmatch(typed) or re.fullmatch(r"([0-9]{4})([0-9]{8})", typed):
        return {"case_number": f"{match[1]}-{int(match[2]):08d}"}
    return None


def inbox_params(filters: Filters, search: dict[str, str]) -> dict[str, str]:
    chosen = {"kind": filters.kind, "topic": filters.topic, "channel": filters.channel, "stage": filters.stage, "unit": filters.unit}
    return search | {name: value for name, value in chosen.items() if value} | ({"overdue": "true"} if filters.overdue else {})


def risk(days_left: int | None, overdue: bool) -> str | None:
    """How near the deadline is, told in words beside the colour: overdue, due soon, on track (None: no deadline)."""
    if overdue:
        return "overdue"
    if days_left is None:
        return None
    return "due_soon" if days_left <= DUE_SOON_DAYS else "on_track"


def tabs(filters: Filters, counts: dict[str, int], stages: dict) -> list[dict]:
    """The cartable's tabs, each with its count under the other filters: all, overdue, then each open stage."""
    named = [("all", ("همه", "All")), ("overdue", RISKS["overdue"]), *stages.items()]
    shown = []
    for key, names in named:
        query = filters.query(stage="", overdue=False) if key == "all" else (
            filters.query(stage="", overdue=True) if key == "overdue" else filters.query(stage=key, overdue=False))
        current = (key == "all" and not filters.stage and not filters.overdue) or (key == "overdue" and filters.overdue) \
            or key == filters.stage and not filters.overdue
        shown.append({"key": key, "names": names, "count": counts.get(key), "href": "/staff" + (f"?{query}" if query else ""),
                      "current": current})
    return shown


async def unit_choices(upstream, token: str, own_unit: str, chosen: str) -> list[dict]:
    """The units to narrow the cartable to: the user's own, the units directly below it and, once one is chosen,
    that one and the units directly below it (so the tree is walked down a level at a time, without JavaScript).
    Routing's tree, read with the user's token; without an answer, only the units already named."""
    parents = [own_unit] + ([chosen] if chosen and chosen != own_unit else [])
    choices = {own_unit: None, **({chosen: None} if chosen else {})}
    for parent in parents:
        try:
            answer = await upstream.as_staff(upstream.routing, "/api/v1/org/units", token, "/api/v1/org/units", {"parent": parent})
        except Unavailable:  # the filter still works by id; the names are a convenience
            continue
        if answer.status == 200:
            for unit in answer.body.get("items", []):
                choices[unit["id"]] = (unit["name_fa"], unit.get("name_en") or unit["id"])
    return [{"id": unit_id, "names": names} for unit_id, names in sorted(choices.items())]
