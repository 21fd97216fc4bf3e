"""`hub`: run the embedded hub and look after its bus."""

import json
import os
import signal
import socket
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from hub_cli.dlq import replay_sync
from hub_shared.auth import NATIONAL, AuthSettings, Role, mint
from hub_shared.reference import org_seed
from hub_cli.stack import SERVICES, Stack, ensure_topics, start_broker
from hub_shared.db import ensure_database
from hub_shared.events import registry

app = typer.Typer(help="People-to-government case hub.", no_args_is_help=True)
console = Console()


def service_env(name: str, template: str) -> dict[str, str]:
    if not template:
        return {}
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
    """Start the broker and the five services; stop them all with Ctrl-C."""
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    bootstrap = external or f"127.0.0.1:{broker_port}"
    busy = [port for port in [spec.port for spec in SERVICES] + ([] if external else [broker_port]) if _in_use(port)]
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
            for spec in SERVICES:
                stack.start_service(spec, extra_env=service_env(spec.name, database_url_template))
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


def _supervise(stack: Stack, broker, max_restarts: int = 5) -> bool:
    """Restart a service that dies (giving up after repeated deaths); return True when the broker died."""
    specs = {spec.name: spec for spec in SERVICES}
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


def _print_table(stack: Stack, bootstrap: str) -> None:
    table = Table(title="people-hub is up (Ctrl-C stops everything)")
    for column in ("service", "url", "openapi", "asyncapi", "log"):
        table.add_column(column)
    for spec in SERVICES:
        url = stack.url(spec.name)
        table.add_row(spec.name, url, f"{url}/docs", f"{url}/asyncapi.json", str(stack.data_dir / "logs" / f"{spec.name}.log"))
    console.print(table)
    console.print(f"traces: {stack.data_dir / 'traces'}/<service>.jsonl (set OTEL_EXPORTER_OTLP_ENDPOINT to export over OTLP)")


@app.command()
def topics(bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS")) -> None:
    """Create the catalog's topics that are missing on a broker."""
    console.print(f"created: {ensure_topics(bootstrap) or 'none (all exist)'}")


token_app = typer.Typer(help="Bearer tokens for staff and machine clients.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    subject: str = typer.Option(..., help="who: a staff user name or a client system's name"),
    role: Role = typer.Option(..., help="what they are"),
    unit: str = typer.Option(..., help="the organisation unit whose subtree they cover, or 'national'"),
    minutes: int = typer.Option(0, help="lifetime; 0 uses HUB_AUTH_TOKEN_MINUTES"),
) -> None:
    """Mint a signed, expiring token with this deployment's HUB_AUTH_SIGNING_KEY and print it."""
    units = {u.id for u in org_seed().units}
    if unit != NATIONAL and unit not in units:
        console.print(f"[red]unknown unit {unit!r}; use an id from the organisation tree or 'national'[/]")
        raise typer.Exit(code=2)
    print(mint(AuthSettings(), subject, role, unit, minutes=minutes or None))


@app.command("dlq-replay")
def dlq_replay(
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS"),
    only_group: str = typer.Option("", help="replay only what this consumer group dead-lettered"),
) -> None:
    """Send dead letters back to their origin topics (after fixing what made them fail)."""
    count = replay_sync(bootstrap, only_group=only_group or None, report=console.print)
    console.print(f"{count} dead letters replayed")


@app.command()
def schemas(out: Path = typer.Option(Path("docs/schemas"), help="Folder to write one JSON Schema per event type")) -> None:
    """Export the JSON Schema of every event on the bus."""
    out.mkdir(parents=True, exist_ok=True)
    for event_type, schema in registry.json_schemas().items():
        (out / f"{event_type}.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        console.print(f"{event_type} -> {out / (event_type + '.json')}")


if __name__ == "__main__":
    app()
