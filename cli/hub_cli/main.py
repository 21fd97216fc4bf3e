"""`hub`: run the embedded hub and look after its bus.

Each command imports what it needs when it runs: an operator's quick look (`hub trace`, `hub dlq list`)
should not pay for loading the database layer, the Kafka client, the event registry and the web stack
that `hub up` and `hub schemas` need. Only typer and stdlib-only modules load at the top.
"""

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hub_cli.dlq_commands import dlq_app, replay_letters
from hub_cli.holds import holds_app
from hub_cli.outbox import outbox_app
from hub_cli.reconcile import reconcile_command
from hub_cli.screenshots import screenshots
from hub_cli.unit_qr import unit_app
from hub_cli.trace import trace
from hub_shared.access import STAFF, Role, Scope

if TYPE_CHECKING:
    from hub_cli.stack import ServiceSpec, Stack
    from hub_shared.users import User

app = typer.Typer(help="People-to-government case hub.", no_args_is_help=True)


def _console():
    from rich.console import Console

    return Console()


# intake and reporting count the portal's visitors by the address the portal names (X-Forwarded-For), only from this machine
PORTAL_TRUST = {"intake": {"HUB_INTAKE_TRUSTED_PROXIES": "127.0.0.1/32"}, "reporting": {"HUB_REPORTING_TRUSTED_PROXIES": "127.0.0.1/32"}}


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
                                              help="e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/hub_{service}; empty: SQLite"),
    replicas: list[str] = typer.Option([], help="SERVICE=N: run N processes of a service sharing its groups and "
                                                 "database (PostgreSQL only), ports +100 each; repeatable"),
) -> None:
    """Start the broker, the five services, the citizen's portal and the remote simulators (HUB_SIMULATORS=off: none); stop
    them all with Ctrl-C."""
    from hub_cli.stack import SERVICES, SIMULATORS, WEB, Stack, ensure_topics, gateway_links, simulator_env, simulators_enabled

    console = _console()
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    bootstrap = external or f"127.0.0.1:{broker_port}"
    simulators = SIMULATORS if simulators_enabled() else {}
    extra = _replicas(replicas, database_url_template)
    busy = [port for port in [spec.port for spec in (*SERVICES, WEB, *extra, *simulators.values())] + ([] if external else [broker_port])
            if _in_use(port)]
    if busy:
        console.print(f"[red]ports {busy} are in use: is another hub running? Stop it first (or free the ports).[/]")
        raise typer.Exit(code=2)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the services too, like Ctrl-C
    stack = Stack(data_dir=data_dir, bootstrap=bootstrap, env={"HUB_KAFKA_PROFILE": os.environ.get("HUB_KAFKA_PROFILE", "embedded")})
    brokers = [] if external else [_start_embedded_broker(broker_port, data_dir)]  # the one running is the last

    def restart_broker():
        brokers.append(_start_embedded_broker(broker_port, data_dir))
        return brokers[-1]

    try:
        created = ensure_topics(bootstrap)
        console.print(f"broker {bootstrap} ({'external' if external else 'embedded tansu'}); topics created: {created or 'none needed'}")
        links = gateway_links({remote: f"http://127.0.0.1:{spec.port}" for remote, spec in simulators.items()})
        for spec in SERVICES:
            stack.start_service(spec, extra_env=service_env(spec.name, database_url_template) | (links if spec.name == "samad-gateway" else {})
                                | PORTAL_TRUST.get(spec.name, {}))
        for spec in extra:
            stack.start_service(spec, extra_env=stack.service_env[spec.service_name])
        stack.start_web()
        gateway = next(spec for spec in SERVICES if spec.name == "samad-gateway")
        for remote, spec in simulators.items():
            stack.start_service(spec, extra_env=simulator_env(remote, f"http://127.0.0.1:{gateway.port}"))
        stack.wait_ready(timeout=120)
        _print_table(stack, bootstrap)
        _reconcile_every(float(os.environ.get("HUB_RECONCILE_SECONDS", "300")), data_dir, database_url_template)
        _supervise(stack, brokers[-1] if brokers else None, restart_broker)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        stack.stop()
        for broker in brokers:
            if broker.poll() is None:
                broker.terminate()
                broker.wait(10)


def _replicas(asked: list[str], database_url_template: str) -> list["ServiceSpec"]:
    """The extra processes `--replicas routing=2` asks for: routing-2 on 8102, and so on."""
    from hub_cli.stack import SERVICES

    console = _console()
    specs = {spec.name: spec for spec in SERVICES}
    extra = []
    for item in asked:
        name, _, count = item.partition("=")
        if name not in specs or not count.isdigit() or not 1 <= int(count) <= 12:
            console.print(f"[red]--replicas {item!r}: give SERVICE=N with a service of {', '.join(specs)} and N from 1 to 12[/]")
            raise typer.Exit(code=2)
        extra += [specs[name].replica(number) for number in range(2, int(count) + 1)]
    if extra and not database_url_template:
        console.print("[red]replicas share their service's database: give HUB_DATABASE_URL_TEMPLATE (PostgreSQL); "
                      "a SQLite file belongs to one process[/]")
        raise typer.Exit(code=2)
    return extra


def _reconcile_every(seconds: float, data_dir: Path, template: str) -> None:
    """`hub reconcile --repair` over the last day, every `seconds`, beside the supervisor (0: never)."""
    if seconds <= 0:
        return
    import asyncio
    import threading
    from datetime import timedelta

    from hub_cli.reconcile import reconcile, service_urls

    console = _console()

    def loop() -> None:
        while True:
            time.sleep(seconds)
            try:
                outcome = asyncio.run(reconcile(service_urls(data_dir, template), timedelta(hours=24), timedelta(seconds=30), repair=True))
            except Exception as error:  # a database busy or away: the next round tries again
                console.print(f"[yellow]reconcile could not run ({type(error).__name__}); trying again in {seconds:.0f} s[/]")
                continue
            if outcome.findings.cases:
                console.print(f"[yellow]reconcile: {len(outcome.findings.cases)} case(s) differed between services; "
                              f"{outcome.repaired} fact(s) sent again, {outcome.findings.behind_later} need a rebuild[/]")

    threading.Thread(target=loop, name="reconcile", daemon=True).start()


def _start_embedded_broker(port: int, data_dir: Path):
    from hub_cli.stack import ensure_topics, start_broker

    broker = start_broker(port, data_dir / "logs" / "broker.log")
    ensure_topics(f"127.0.0.1:{port}")  # at once, before a client's request could create one with the broker's default count
    return broker


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _supervise(stack: "Stack", broker, restart_broker, max_restarts: int = 5) -> None:
    """Restart whatever dies: a service on its own (giving up after repeated deaths), the embedded broker on its
    own too. The services ride out the broker's absence, and their outbox relays send the new broker
    whatever the old one held (hub_shared.bus)."""
    console = _console()
    specs = stack.specs
    restarts = {name: 0 for name in specs}
    process = broker
    while True:
        time.sleep(0.5)
        if process is not None and process.poll() is not None:
            console.print(f"[yellow]the broker exited (code {process.returncode}): starting a new one; the services reconnect[/]")
            process = restart_broker()
        for name, service in list(stack.processes.items()):
            if service.poll() is not None:
                restarts[name] += 1
                log = stack.data_dir / "logs" / f"{name}.log"
                if restarts[name] > max_restarts:
                    console.print(f"[red]{name} keeps exiting (code {service.returncode}); stopping the hub. See {log}[/]")
                    raise typer.Exit(code=1)
                console.print(f"[red]{name} exited with code {service.returncode}; restarting it ({restarts[name]}/{max_restarts}). See {log}[/]")
                time.sleep(0.5 * (restarts[name] - 1))  # at once the first time, slower if it keeps dying
                stack.start_service(specs[name])


def _print_table(stack: "Stack", bootstrap: str) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="people-hub is up (Ctrl-C stops everything)")
    for column in ("service", "url", "openapi", "asyncapi", "log"):
        table.add_column(column)
    for spec in stack.specs.values():
        if spec.name not in stack.ports:
            continue
        url = stack.url(spec.name)
        api = ("", "") if spec.name == "web" else (f"{url}/docs", f"{url}/asyncapi.json")
        table.add_row(spec.name, url, *api, str(stack.data_dir / "logs" / f"{spec.name}.log"))
    console.print(table)
    console.print(f"the citizen's portal: {stack.url('web')}")
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

    from hub_shared.users import User

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
    password: bool = typer.Option(False, "--password", help=(
        "let them sign in to the portal's staff pages: asks for the password (twice), or reads one line from stdin "
        "when it is not a terminal; stored only as an Argon2id hash")),
    users_file: Path = USERS_FILE,
) -> None:
    """Register a user or machine client."""
    from hub_shared.users import UserRegistry

    console = _console()
    user = _user(subject, role, unit, scope)
    if password:
        user.password_hash = _password_hash(console)
    try:
        UserRegistry(users_file).add(user)
    except ValueError as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(code=2) from None
    console.print(f"{subject}: {role.value} over {unit}" + (", may sign in to the portal" if password else ""))


def _password_hash(console) -> str:
    """The hash of a password typed twice at a terminal, or of stdin's first line (scripts, tests)."""
    from hub_shared.passwords import hash_password

    if sys.stdin.isatty():
        typed = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        typed = sys.stdin.readline().rstrip("\r\n")
    try:
        return hash_password(typed)
    except ValueError as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(code=2) from None


@user_app.command("password")
def user_password(subject: str = typer.Argument(...), users_file: Path = USERS_FILE) -> None:
    """Set a new portal password for a user (a forgotten one, or a first one): asks for it twice, or reads one line
    from stdin; every session of theirs ends at once. Staff change their own at /staff/account/password."""
    from hub_shared.users import UserRegistry

    console = _console()
    registry = UserRegistry(users_file)
    if (user := registry.get(subject)) is None:
        console.print(f"[red]no user {subject!r}[/]")
        raise typer.Exit(code=2)
    if user.role not in STAFF:
        console.print(f"[red]{subject} is a {user.role.value}, a system: systems use tokens, not passwords[/]")
        raise typer.Exit(code=2)
    if not registry.replace_password(subject, user.password_hash, _password_hash(console)):
        console.print(f"[red]{subject} changed meanwhile; run the command again[/]")
        raise typer.Exit(code=2)
    console.print(f"{subject}: new password set; their sessions have ended")


@user_app.command("list")
def user_list(users_file: Path = USERS_FILE) -> None:
    """Show the registered users and what they may do."""
    from rich.table import Table

    from hub_shared.users import UserRegistry

    table = Table("subject", "role", "unit", "scopes")
    for user in UserRegistry(users_file).all():
        table.add_row(user.subject, user.role.value, user.unit, " ".join(s.value for s in user.scopes) or "(all of the role's)")
    _console().print(table)


@user_app.command("remove")
def user_remove(subject: str = typer.Argument(...), users_file: Path = USERS_FILE) -> None:
    """Remove a user: no new tokens for them (tokens already minted expire within HUB_AUTH_TOKEN_MINUTES)."""
    from hub_shared.users import UserRegistry

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
    from hub_shared.users import UserRegistry
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


app.command("screenshots")(screenshots)
app.add_typer(unit_app, name="unit")
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
app.command("reconcile")(reconcile_command)
app.add_typer(outbox_app, name="outbox")
app.add_typer(holds_app, name="holds")
app.add_typer(dlq_app, name="dlq")

if __name__ == "__main__":
    app()
