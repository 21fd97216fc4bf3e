"""The ops console (`/staff/ops`): each service's health and the broker's, the lag of every consumer group and recent
errors; a case's trace end to end (reporting's timeline, what `hub trace` prints); dead letters with their reasons,
replayed one or many; held cases released; parked outbox rows retried.

Every figure and every action goes through the services' ops endpoints (`hub_shared.ops_api`) with the signed-in
user's own token: the services decide who may (the `ops:admin` scope) and write each action to their audit log, so
the console only shows what they answered. Nothing here shows a message's body or a citizen's data: ids, headers,
reasons and counts."""

import asyncio
import uuid
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from hub_shared.access import ROLE_SCOPES, Scope
from hub_shared.users import User
from hub_web.forms import ascii_code
from hub_web.i18n import language
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, Session
from hub_web.upstream import Answer, Unavailable

HOME = "/staff/ops"
SIGN_IN = "/staff/sign-in"


def may_operate(user: User) -> bool:
    """Whether the user's token will hold `ops:admin`: the scopes the services check, from the same table."""
    return Scope.ops_admin in (set(user.scopes) or ROLE_SCOPES[user.role])


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix=HOME)
    desk, upstream = portal.staff, portal.upstream
    services = {"intake": upstream.intake, "routing": upstream.routing, "followup": upstream.followup,
                "reporting": upstream.reporting, "samad-gateway": upstream.gateway}
    portal.templates.globals["may_operate"] = may_operate  # the staff menu shows the console to those who may use it

    def page(request: Request, template: str, user: User, session: Session, status: int = 200, **context) -> Response:
        response = portal.render(request, template, status=status, staff=user, **context)
        response.set_cookie(COOKIE, desk.cookie.seal(session), httponly=True, samesite="strict", path="/staff",
                            secure=portal.settings.secure_cookies, max_age=desk.cookie.longest)
        return response

    def to_sign_in() -> Response:
        response = RedirectResponse(SIGN_IN, status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    async def ask_all(user: User, path: str) -> tuple[dict[str, Answer], list[str]]:
        """Every service's answer to GET `path` (with the user's token), and the services that did not answer."""
        token = desk.token_for(user)

        async def one(client) -> Answer | None:
            try:
                return await upstream.as_staff(client, path, token, path)
            except Unavailable:
                return None

        answers = dict(zip(services, await asyncio.gather(*(one(client) for client in services.values())), strict=True))
        return {name: answer for name, answer in answers.items() if answer}, [name for name, answer in answers.items() if not answer]

    def refused(request: Request, user: User, session: Session, answers: dict[str, Answer]) -> Response | None:
        """The first refusal a service gave (401: sign in again; 403: its reason), else None."""
        for answer in answers.values():
            if answer.status == 401:
                return to_sign_in()
            if answer.status != 200:
                return page(request, "staff_problem.html", user, session, status=answer.status, problem="refused", body=answer.body)
        return None

    async def console(request: Request, path: str, template: str, shape: Callable[[dict[str, Answer]], dict],
                      **extra) -> Response:
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        answers, silent = await ask_all(who[0], path)
        if (refusal := refused(request, *who, answers)) is not None:
            return refusal
        return page(request, template, *who, silent=silent, **shape(answers), **extra)

    async def act(request: Request, field: str, path: str, body_of: Callable[[list[list[str]]], dict | list[dict]],
                  back: str) -> Response:
        """A POST of the console: the checked items (`service|...`), grouped by service, each group sent to its
        service's ops endpoint; then the list again, with what each service did or why it refused."""
        form = await request.form()
        if forged := await portal.forged(request, form):
            return forged
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        chosen: dict[str, list[list[str]]] = {}
        for value in form.getlist("shown" if form.get("scope") == "all" else field):
            name, *parts = str(value).split("|")
            if name in services and parts:
                chosen.setdefault(name, []).append(parts)
        outcomes = await _send(upstream, services, desk.token_for(who[0]), path, {n: body_of(p) for n, p in chosen.items()})
        if any(answer is not None and answer.status == 401 for answer in outcomes.values()):
            return to_sign_in()
        return await listing(request, back, outcomes, nothing_chosen=not chosen)

    async def listing(request: Request, name: str, outcomes: dict[str, Answer | None] | None = None,
                      nothing_chosen: bool = False) -> Response:
        """One of the console's lists from every service, with the outcome of the action just taken, if any."""
        path, template, shape = LISTS[name]
        return await console(request, path, template, shape, outcomes=outcomes or {}, nothing_chosen=nothing_chosen)

    @api.get("")
    async def overview(request: Request):
        return await console(request, "/api/v1/ops/state", "ops_overview.html", _overview)

    @api.get("/trace")
    async def trace(request: Request, code: str = ""):
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        user, session = who
        wanted = ascii_code(code).strip()
        if not wanted:
            return page(request, "ops_trace.html", user, session, code="", timeline=None, errors={})
        if not _looks_like_a_case(wanted):
            return page(request, "ops_trace.html", user, session, status=422, code=wanted, timeline=None,
                        errors={"code": _BAD_REF[language(request) == "en"]})
        try:
            answer = await upstream.as_staff(upstream.reporting, f"/api/v1/cases/{wanted}/timeline", desk.token_for(user),
                                             "/api/v1/cases/{case_ref}/timeline")
        except Unavailable:
            return page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status == 401:
            return to_sign_in()
        if answer.status != 200:
            return page(request, "ops_trace.html", user, session, status=answer.status, code=wanted, timeline=None, errors={},
                        refusal=answer.body)
        return page(request, "ops_trace.html", user, session, code=wanted, timeline=_steps(answer.body), errors={})

    @api.get("/dead-letters")
    async def dead_letters(request: Request):
        return await listing(request, "dead-letters")

    @api.post("/dead-letters/replay")
    async def replay(request: Request):
        return await act(request, "letter", "/api/v1/ops/dead-letters/replay", lambda parts: {"ids": [p[0] for p in parts]},
                         "dead-letters")

    @api.get("/holds")
    async def holds(request: Request):
        return await listing(request, "holds")

    @api.post("/holds/release")
    async def release_holds(request: Request):
        return await act(request, "hold", "/api/v1/ops/holds/release", _hold_release_body, "holds")

    @api.get("/outbox")
    async def outbox(request: Request):
        return await listing(request, "outbox")

    @api.post("/outbox/release")
    async def release_rows(request: Request):
        return await act(request, "row", "/api/v1/ops/outbox/release",
                         lambda parts: {"ids": [int(p[0]) for p in parts if p[0].isdigit()]}, "outbox")

    return api


def _hold_release_body(parts: list[list[str]]) -> list[dict]:
    """One release per consumer group: `service|group|key` items of one service may name several groups."""
    groups: dict[str, list[str]] = {}
    for part in parts:
        if len(part) == 2:
            groups.setdefault(part[0], []).append(part[1])
    return [{"group": group, "keys": keys} for group, keys in groups.items()]


async def _send(upstream, services: dict, token: str, path: str, bodies: dict[str, dict | list[dict]]) -> dict[str, Answer | None]:
    """Each service's answer to its POST(s); None when it did not answer. Several bodies for one service go one by
    one; the last refusal (or the last answer) stands for them."""

    async def one(name: str, body: dict | list[dict]) -> Answer | None:
        answer = None
        for each in body if isinstance(body, list) else [body]:
            try:
                answer = await upstream.send_as_staff(services[name], "POST", path, token, path, each)
            except Unavailable:
                return None
            if answer.status != 200:
                return answer
        return answer

    names = list(bodies)
    answers: list[Answer | None] = await asyncio.gather(*(one(name, bodies[name]) for name in names))
    return dict(zip(names, answers, strict=True))


def _overview(answers: dict[str, Answer]) -> dict:
    states = {name: answer.body for name, answer in answers.items()}
    groups = [group | {"service": name} for name, state in states.items() for group in state.get("groups", [])]
    bus = [state["checks"].get("bus") == "ok" for state in states.values()]
    broker = "up" if any(bus) or any(group["lag"] is not None for group in groups) else "down" if states else "unknown"
    return {"states": states, "groups": groups, "broker": broker}


def _letters(answers: dict[str, Answer]) -> dict:
    letters = [letter | {"service": name} for name, answer in answers.items() for letter in answer.body.get("letters", [])]
    return {"letters": sorted(letters, key=lambda letter: letter["written_at"])}


def _holds(answers: dict[str, Answer]) -> dict:
    rows = [hold | {"service": name} for name, answer in answers.items() for hold in answer.body.get("items", [])]
    return {"holds": sorted(rows, key=lambda hold: hold["held_since"])}


def _parked(answers: dict[str, Answer]) -> dict:
    rows = [row | {"service": name} for name, answer in answers.items() for row in answer.body.get("items", [])]
    return {"rows": sorted(rows, key=lambda row: row["parked_at"])}


def _steps(body: dict) -> dict:
    """The timeline with links between its steps: the previous and next step, and the first step of the same trace."""
    first_of_trace: dict[str, int] = {}
    steps = []
    for number, event in enumerate(body.get("events", []), start=1):
        trace = event.get("trace_id")
        same = first_of_trace.setdefault(trace, number) if trace else number
        steps.append(event | {"number": number, "same_trace_as": same if same != number else None})
    return body | {"steps": steps}


LISTS: dict[str, tuple[str, str, Callable[[dict[str, Answer]], dict]]] = {
    "dead-letters": ("/api/v1/ops/dead-letters", "ops_dead_letters.html", _letters),
    "holds": ("/api/v1/ops/holds", "ops_holds.html", _holds),
    "outbox": ("/api/v1/ops/outbox/parked", "ops_outbox.html", _parked),
}


def _looks_like_a_case(ref: str) -> bool:
    """A tracking code (11 digits) or a case id (a UUID): anything else is not sent on."""
    if len(ref) == 11 and ref.isdigit():
        return True
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


_BAD_REF = ("کد رهگیری (۱۱ رقم) یا شناسه پرونده را وارد کنید.", "Enter a tracking code (11 digits) or a case id.")
