"""Rate a visit: reached from the unit's printed QR code or short link `/r/{unit}`. A score and, if the visitor
likes, the aspects; nothing that names the visitor is asked, kept or logged. Intake holds the rating and
publishes it in shuffled batches."""

from fastapi import APIRouter, Request

from hub_web.forms import ascii_code, intake_refusal
from hub_web.i18n import ASPECTS, language
from hub_web.places import name_in
from hub_web.portal import Portal
from hub_web.upstream import Unavailable


def router(portal: Portal) -> APIRouter:
    api = APIRouter()

    async def rating_page(request: Request, unit_id: str, values: dict, errors: dict, status: int = 200):
        try:
            name = await portal.upstream.unit_name(unit_id)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        if name is None:
            return portal.render(request, "problem.html", status=404, problem="unknown_unit")
        unit_name, unit_lang = name_in(name, language(request))
        return portal.render(request, "rate.html", status=status, unit_id=unit_id, unit_name=unit_name, unit_lang=unit_lang,
                             values=values, errors=errors)

    @api.get("/r/{unit_id:path}")
    async def rating_form(request: Request, unit_id: str):
        return await rating_page(request, unit_id, {}, {})

    @api.post("/r/{unit_id:path}")
    async def rate_visit(request: Request, unit_id: str):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        errors = portal.errors(request)
        score, aspects = _score(form.get("score")), {name: _score(form.get(name)) for name in ASPECTS}
        if score is None:
            errors.add("score")
            return await rating_page(request, unit_id, dict(form), errors.messages, status=422)
        body = {"unit_id": unit_id, "score": score, "aspects": {name: value for name, value in aspects.items() if value}}
        try:
            answer = await portal.intake(request, "/api/v1/feedback", body)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        if answer.status != 202:
            intake_refusal(answer.body, errors, {"score"})
            return await rating_page(request, unit_id, dict(form), errors.messages, status=answer.status)
        return portal.render(request, "rated.html")

    return api


def _score(value) -> int | None:
    text = ascii_code(str(value or ""))
    return int(text) if text in {"1", "2", "3", "4", "5"} else None
