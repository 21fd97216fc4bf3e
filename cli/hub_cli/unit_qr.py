"""`hub unit qr UNIT`: the QR code of a unit's rating link (`/r/{unit}` on the portal), as PNG and SVG for the
office's wall. The unit must be in the organisation tree in force (asked of routing), so no poster points at a
page that says the unit does not exist."""

from pathlib import Path

import typer

unit_app = typer.Typer(help="Offices' printed material.", no_args_is_help=True)


@unit_app.command("qr")
def unit_qr(unit: str = typer.Argument(..., help="the unit's id, e.g. labour/fars/marvdasht/performance-office"),
            portal_url: str = typer.Option("http://127.0.0.1:8000", help="the portal's public address, as visitors reach it"),
            routing_url: str = typer.Option("http://127.0.0.1:8002", envvar="HUB_WEB_ROUTING_URL", help="routing, to check the unit"),
            out: Path = typer.Option(Path("."), help="folder for the PNG and SVG files"),
            ) -> None:
    """Write <unit>.png and <unit>.svg: the QR code of the unit's rating link."""
    import httpx
    import segno

    name = _unit_name(httpx, routing_url, unit)
    link = f"{portal_url.rstrip('/')}/r/{unit}"
    code = segno.make(link, error="m")  # survives a smudged or partly covered print
    out.mkdir(parents=True, exist_ok=True)
    stem = out / unit.replace("/", "_")
    code.save(f"{stem}.png", scale=12, border=4)
    code.save(f"{stem}.svg", scale=12, border=4, title=name)
    print(f"{name}\n{link}\n{stem}.png\n{stem}.svg")


def _unit_name(httpx, routing_url: str, unit: str) -> str:
    try:
        answer = httpx.get(f"{routing_url.rstrip('/')}/api/v1/org/places/units/{unit}", timeout=10)
    except httpx.HTTPError as error:
        raise SystemExit(f"routing at {routing_url} did not answer ({type(error).__name__}); start the hub or give --routing-url")
    if answer.status_code in (404, 422):
        raise SystemExit(f"{unit!r} is not a unit of the organisation tree in force; check the id (GET /api/v1/org/units on routing)")
    answer.raise_for_status()
    return answer.json()["name_fa"]
