"""`hub trace <tracking-code>`: a case's timeline from reporting, in the terminal.

The token comes from `HUB_TOKEN`; outside production (`HUB_ENVIRONMENT` not `production`) one is minted with
the development signing key for a national supervisor. `HUB_REPORTING_URL` (default http://127.0.0.1:8004)
names reporting.

An operator runs this while looking at a case, so it must answer at once: it loads only the HTTP client,
the table renderer and the token minting (`hub_shared.tokens`, not the web stack of `hub_shared.auth`),
and those only when the command runs.
"""

import os

import typer


def _console():
    from rich.console import Console

    return Console()


def _token() -> str:
    if os.environ.get("HUB_TOKEN"):
        return os.environ["HUB_TOKEN"]
    if os.environ.get("HUB_ENVIRONMENT", "development") == "production":
        _console().print("[red]set HUB_TOKEN (a token with cases:read or status:read): no token is minted in production[/]")
        raise typer.Exit(code=2)
    from hub_shared.access import NATIONAL, Role
    from hub_shared.tokens import AuthSettings, mint

    return mint(AuthSettings(), "hub-trace", Role.national_supervisor, NATIONAL)


def trace(tracking_code: str = typer.Argument(..., help="the case's tracking code (or its case id)")) -> None:
    """Print every event of a case in order: service, UTC and Jalali time, trace id and link."""
    import httpx
    from rich.table import Table

    console = _console()
    base = os.environ.get("HUB_REPORTING_URL", "http://127.0.0.1:8004").rstrip("/")
    try:
        response = httpx.get(f"{base}/api/v1/cases/{tracking_code}/timeline", headers={"authorization": f"Bearer {_token()}"}, timeout=10)
    except httpx.HTTPError as exc:
        console.print(f"[red]reporting at {base} did not answer ({type(exc).__name__}); is the hub up? (HUB_REPORTING_URL)[/]")
        raise typer.Exit(code=1) from None
    if response.status_code != 200:
        error = response.json().get("error", {}) if response.headers.get("content-type", "").startswith("application/json") else {}
        console.print(f"[red]HTTP {response.status_code}: {error.get('message_en', response.text)}[/]")
        raise typer.Exit(code=1)
    body = response.json()
    table = Table(title=f"case {body['tracking_code']} ({body['case_id']}): {body['status']}")
    for column in ("#", "service", "event", "UTC", "Jalali (Tehran)", "note", "trace"):
        table.add_column(column)
    for number, event in enumerate(body["events"], start=1):
        link = f"[link={event['trace_url']}]{event['trace_id']}[/link]" if event["trace_url"] else "—"
        table.add_row(str(number), event["service"], event["event_type"].removeprefix("ir.hub."), event["at_utc"][:19],
                      event["at_jalali"], event["note_en"], link)
    console.print(table)
