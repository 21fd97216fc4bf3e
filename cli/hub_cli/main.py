"""`hub`: run the embedded hub and look after its bus.

Each command imports what it needs when it runs: an operator's quick look (`hub trace`, `hub dlq list`)
should not pay for loading the database layer, the Kafka client, the event registry and the web stack
that `hub up` and `hub schemas` need. Only typer and stdlib-only modules load at the top.
"""

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hub_cli.dlq_commands import dlq_app, replay_letters
from hub_cli.holds import holds_app
from hub_cli.outbox import outbox_app
from hub_cli.trace import trace
from hub_shared.access import Role, Scope

if TYPE_CHECKING:
    from hub_cli.stack import Stack
    from hub_cli.users import User

app = typer.Typer(help="People-to-government case hub.", no_args_is_help=True)


def _console():
    from rich.console import Console

    return Console()


def service_env(name: str, template: str) -> dict[str, str]:
    if not template:
        return {}
    from hub_shared.db import ensure_database

    url = template.format(service=name.replace("-", "_"))
    ensure_database(url)
    return {"DATABASE_URL": url}


@app.command()
def up(
    data_dir: Path = typer.Option(Path("var"), help="Folder for SQLite files, logs and trace files"),
    broker_port: int = typer.Option(9092, help="Port of the embedded broker (ignored with KAFKA_BOOTSTRAP_SERVERS)"),
    database_url_template: str = typer.Option("", envvar="HUB_DATABASE_URL_TEMPLATE",
                                              help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/hub_{service}; empty: SQLite"),
) -> None:
    """Start the broker, the five services and the remote simulators (HUB_SIMULATORS=off: none); stop them all with Ctrl-C."""
    from hub_cli.stack import SERVICES, SIMULATORS, Stack, ensure_topics, gateway_links, simulator_env, simulators_enabled, start_broker

    console = _console()
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    bootstrap = external or f"127.0.0.1:{broker_port}"
    simulators = SIMULATORS if simulators_enabled() else {}
    busy = [port for port in [spec.port for spec in (*SERVICES, *simulators.values())] + ([] if external else [broker_port]) if _in_use(port)]
    if busy:
        console.print(f"[red]ports {busy} are in use: is another hub running? Stop it first (or free the ports).[/]")
        raise typer.Exit(code=2)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the services too, like Ctrl-C
    broker = None
    stack = Stack(data_dir=data_dir, bootstrap=bootstrap)
    try:
        while True:
            if not external:
                broker = start_broker(broker_port, data_dir / "logs" / "broker.log")
            created = ensure_topics(bootstrap)
            console.print(f"broker {bootstrap} ({'external' if external else 'embedded tansu'}); topics created: {created or 'none needed'}")
            links = gateway_links({remote: f"http://127.0.0.1:{spec.port}" for remote, spec in simulators.items()})
            for spec in SERVICES:
                stack.start_service(spec, extra_env=service_env(spec.name, database_url_template) | (links if spec.name == "samad-gateway" else {}))
            gateway = next(spec for spec in SERVICES if spec.name == "samad-gateway")
            for remote, spec in simulators.items():
                stack.start_service(spec, extra_env=simulator_env(remote, f"http://127.0.0.1:{gateway.port}"))
            stack.wait_ready(timeout=120)
            _print_table(stack, bootstrap)
            if not _supervise(stack, broker):
                return
            console.print("[yellow]the broker stopped: restarting the broker and every service together[/]")
            stack.stop()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        stack.stop()
        if broker is not None and broker.poll() is None:
            broker.terminate()
            broker.wait(10)


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _supervise(stack: "Stack", broker, max_restarts: int = 5) -> bool:
    """Restart a service that dies (giving up after repeated deaths); return True when the broker died."""
    from hub_cli.stack import SERVICES, SIMULATORS

    console = _console()
    specs = {spec.name: spec for spec in (*SERVICES, *SIMULATORS.values())}
    restarts = {name: 0 for name in specs}
    while True:
        time.sleep(1)
        if broker is not None and broker.poll() is not None:
            return True
        for name, process in list(stack.processes.items()):
            if process.poll() is not None:
                restarts[name] += 1
                log = stack.data_dir / "logs" / f"{name}.log"
                if restarts[name] > max_restarts:
                    console.print(f"[red]{name} keeps exiting (code {process.returncode}); stopping the hub. See {log}[/]")
                    raise typer.Exit(code=1)
                console.print(f"[red]{name} exited with code {process.returncode}; restarting it ({restarts[name]}/{max_restarts}). See {log}[/]")
                time.sleep(restarts[name])
                stack.start_service(specs[name])


def _print_table(stack: "Stack", bootstrap: str) -> None:
    from rich.table import Table

    from hub_cli.stack import SERVICES, SIMULATORS

    console = _console()
    table = Table(title="people-hub is up (Ctrl-C stops everything)")
    for column in ("service", "url", "openapi", "asyncapi", "log"):
        table.add_column(column)
    for spec in (*SERVICES, *SIMULATORS.values()):
        if spec.name not in stack.ports:
            continue
        url = stack.url(spec.name)
        table.add_row(spec.name, url, f"{url}/docs", f"{url}/asyncapi.json", str(stack.data_dir / "logs" / f"{spec.name}.log"))
    console.print(table)
    console.print(f"traces: {stack.data_dir / 'traces'}/<service>.jsonl (set OTEL_EXPORTER_OTLP_ENDPOINT to export over OTLP)")


@app.command()
def topics(bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS")) -> None:
    """Create the catalog's topics that are missing on a broker."""
    from hub_cli.stack import ensure_topics

    _console().print(f"created: {ensure_topics(bootstrap) or 'none (all exist)'}")


token_app = typer.Typer(help="Bearer tokens for staff and machine clients.", no_args_is_help=True)
app.add_typer(token_app, name="token")
user_app = typer.Typer(help="The deployment's staff users and machine clients.", no_args_is_help=True)
app.add_typer(user_app, name="user")
USERS_FILE = typer.Option(Path("var/users.json"), "--users-file", envvar="HUB_USERS_FILE", help="the registry of users")


def _user(subject: str, role: Role, unit: str, scopes: list[Scope]) -> "User":
    from pydantic import ValidationError

    from hub_cli.users import User

    try:
        return User(subject=subject, role=role, unit=unit, scopes=scopes)
    except ValidationError as invalid:
        for error in invalid.errors():
            _console().print(f"[red]{error['msg'].removeprefix('Value error, ')}[/]")
        raise typer.Exit(code=2) from None


@user_app.command("add")
def user_add(
    subject: str = typer.Argument(..., help="a staff user name or a client system's name"),
    role: Role = typer.Option(..., help="what they are"),
    unit: str = typer.Option(..., help="the organisation unit whose subtree they cover, or 'national'"),
    scope: list[Scope] = typer.Option([], help="grant only these (repeatable); default: everything the role may do"),
    users_file: Path = USERS_FILE,
) -> None:
    """Register a user or machine client."""
    from hub_cli.users import UserRegistry

    console = _console()
    try:
        UserRegistry(users_file).add(_user(subject, role, unit, scope))
    except ValueError as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(code=2) from None
    console.print(f"{subject}: {role.value} over {unit}")


@user_app.command("list")
def user_list(users_file: Path = USERS_FILE) -> None:
    """Show the registered users and what they may do."""
    from rich.table import Table

    from hub_cli.users import UserRegistry

    table = Table("subject", "role", "unit", "scopes")
    for user in UserRegistry(users_file).all():
        table.add_row(user.subject, user.role.value, user.unit, " ".join(s.value for s in user.scopes) or "(all of the role's)")
    _console().print(table)


@user_app.command("remove")
def user_remove(subject: str = typer.Argument(...), users_file: Path = USERS_FILE) -> None:
    """Remove a user: no new tokens for them (tokens already minted expire within HUB_AUTH_TOKEN_MINUTES)."""
    from hub_cli.users import UserRegistry

    console = _console()
    if not UserRegistry(users_file).remove(subject):
        console.print(f"[red]no user {subject!r}[/]")
        raise typer.Exit(code=2)
    console.print(f"{subject} removed")


@token_app.command("create")
def token_create(
    user: str = typer.Option("", help="mint for this registered user (see `hub user add`)"),
    subject: str = typer.Option("", help="or ad hoc: who (a staff user name or a client system's name)"),
    role: Role | None = typer.Option(None, help="ad hoc: what they are"),
    unit: str = typer.Option("", help="ad hoc: the organisation unit whose subtree they cover, or 'national'"),
    scope: list[Scope] = typer.Option([], help="ad hoc: grant only these (repeatable); default: all of the role's"),
    minutes: int = typer.Option(0, help="lifetime; 0 uses HUB_AUTH_TOKEN_MINUTES"),
    users_file: Path = USERS_FILE,
) -> None:
    """Mint a signed, expiring token with this deployment's HUB_AUTH_SIGNING_KEY and print it."""
    from hub_cli.users import UserRegistry
    from hub_shared.tokens import AuthSettings, mint

    console = _console()
    if user:
        found = UserRegistry(users_file).get(user)
        if found is None:
            console.print(f"[red]no user {user!r} in {users_file}; add it with `hub user add`[/]")
            raise typer.Exit(code=2)
    elif subject and role is not None and unit:
        found = _user(subject, role, unit, scope)
    else:
        console.print("[red]give --user NAME, or --subject, --role and --unit[/]")
        raise typer.Exit(code=2)
    print(mint(AuthSettings(), found.subject, found.role, found.unit, minutes=minutes or None, scopes=found.scopes or None))


app.command("dlq-replay")(replay_letters)  # the name operators know; `hub dlq replay` is the same command


@app.command()
def schemas(out: Path = typer.Option(Path("docs/schemas"), help="Folder to write one JSON Schema per event type")) -> None:
    """Export the JSON Schema of every event on the bus."""
    from hub_shared.events import registry

    console = _console()
    out.mkdir(parents=True, exist_ok=True)
    for event_type, schema in registry.json_schemas().items():
        (out / f"{event_type}.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        console.print(f"{event_type} -> {out / (event_type + '.json')}")


app.command("trace")(trace)
app.add_typer(outbox_app, name="outbox")
app.add_typer(holds_app, name="holds")
app.add_typer(dlq_app, name="dlq")

if __name__ == "__main__":
    app()
