"""Running `hub` as an operator would, in-process: wide output, and the SQLite databases of `--data-dir`
unless a test names a database URL template."""

from typer.testing import CliRunner

from hub_cli.main import app

runner = CliRunner()


def hub(*args: str, template: str = ""):
    return runner.invoke(app, list(args), env={"COLUMNS": "240", "HUB_DATABASE_URL_TEMPLATE": template})
