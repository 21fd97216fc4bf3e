"""`hub user` and `hub token create`: a deployment's users, and tokens minted from them."""

import pytest
from typer.testing import CliRunner

from hub_cli.main import app
from hub_shared.auth import AuthSettings, Role, Scope, verify

runner = CliRunner()


@pytest.fixture
def users(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_USERS_FILE", str(tmp_path / "users.json"))
    return tmp_path / "users.json"


def hub(*args: str):
    return runner.invoke(app, list(args))


def test_a_registered_user_gets_a_token_with_their_role_unit_and_scopes(users) -> None:
    assert hub("user", "add", "maryam", "--role", "expert", "--unit", "labour/tehran").exit_code == 0
    assert hub("user", "add", "centre-feed", "--role", "presidential_centre", "--unit", "national",
               "--scope", "status:read").exit_code == 0
    listed = hub("user", "list")
    assert "maryam" in listed.stdout and "centre-feed" in listed.stdout
    token = hub("token", "create", "--user", "maryam")
    assert token.exit_code == 0, token.stdout
    principal = verify(AuthSettings(), token.stdout.strip())
    assert (principal.subject, principal.role, principal.unit) == ("maryam", Role.expert, "labour/tehran")
    assert Scope.personal_data_read in principal.scopes
    assert verify(AuthSettings(), hub("token", "create", "--user", "centre-feed").stdout.strip()).scopes == {Scope.status_read}
    assert users.stat().st_mode & 0o077 == 0, "the registry is readable by its owner only"


@pytest.mark.parametrize("args,reason", [
    (["user", "add", "x", "--role", "expert", "--unit", "labour/atlantis"], "unknown unit"),
    (["user", "add", "x", "--role", "expert", "--unit", "labour/tehr"], "unknown unit"),  # not a path boundary
    (["user", "add", "x", "--role", "presidential_centre", "--unit", "national", "--scope", "personal-data:read"], "cannot hold"),
    (["user", "add", "x y", "--role", "expert", "--unit", "national"], "String should match pattern"),
    (["token", "create", "--user", "nobody"], "no user"),
    (["token", "create", "--subject", "x"], "give --user"),
    (["user", "remove", "nobody"], "no user"),
])
def test_bad_users_and_tokens_are_refused_with_a_reason(users, args, reason) -> None:
    result = hub(*args)
    assert result.exit_code == 2 and reason in result.stdout, result.stdout


def test_a_user_is_added_once_and_removed_for_good(users) -> None:
    assert hub("user", "add", "ali", "--role", "inspector", "--unit", "health/fars").exit_code == 0
    again = hub("user", "add", "ali", "--role", "national_supervisor", "--unit", "national")
    assert again.exit_code == 2 and "exists" in again.stdout
    assert hub("user", "remove", "ali").exit_code == 0
    assert hub("token", "create", "--user", "ali").exit_code == 2


def test_an_ad_hoc_token_for_a_machine_client_can_be_narrowed(users) -> None:
    result = hub("token", "create", "--subject", "samad-link", "--role", "gateway", "--unit", "national", "--scope", "cases:submit")
    assert result.exit_code == 0
    assert verify(AuthSettings(), result.stdout.strip()).scopes == {Scope.cases_submit}


def test_a_staff_password_is_read_from_stdin_and_kept_only_as_an_argon2_hash(users) -> None:
    from hub_shared.passwords import password_matches
    from hub_shared.users import UserRegistry

    added = runner.invoke(app, ["user", "add", "maryam", "--role", "expert", "--unit", "labour/tehran", "--password"],
                          input="a long enough secret\n")
    assert added.exit_code == 0, added.stdout
    assert "a long enough secret" not in users.read_text()
    stored = UserRegistry(users).get("maryam").password_hash
    assert stored.startswith("$argon2id$")
    assert password_matches(stored, "a long enough secret") and not password_matches(stored, "a long enough secreT")
    short = runner.invoke(app, ["user", "add", "ali", "--role", "expert", "--unit", "labour", "--password"], input="short\n")
    assert short.exit_code == 2 and "10 to 256 characters" in short.stdout
    assert UserRegistry(users).get("ali") is None
    assert "password_hash" not in hub("user", "list").stdout


def test_an_administrator_sets_a_new_password_which_ends_the_users_sessions(users) -> None:
    from hub_shared.passwords import fingerprint, password_matches
    from hub_shared.users import UserRegistry

    runner.invoke(app, ["user", "add", "maryam", "--role", "expert", "--unit", "labour/tehran", "--password"], input="the first secret\n")
    before = UserRegistry(users).get("maryam").password_hash
    reset = runner.invoke(app, ["user", "password", "maryam"], input="a forgotten one, renewed\n")
    assert reset.exit_code == 0 and "sessions have ended" in reset.stdout
    after = UserRegistry(users).get("maryam").password_hash
    assert password_matches(after, "a forgotten one, renewed") and fingerprint(after) != fingerprint(before)
    assert runner.invoke(app, ["user", "password", "maryam"], input="short\n").exit_code == 2
    assert UserRegistry(users).get("maryam").password_hash == after
    assert hub("user", "password", "nobody").exit_code == 2
    hub("user", "add", "centre-feed", "--role", "presidential_centre", "--unit", "national")
    refused = runner.invoke(app, ["user", "password", "centre-feed"], input="a long enough secret\n")
    assert refused.exit_code == 2 and "systems use tokens" in refused.stdout


def test_an_operator_gets_the_ops_scope_and_no_case_content(users) -> None:
    assert hub("user", "add", "ops-ali", "--role", "ops", "--unit", "national").exit_code == 0
    principal = verify(AuthSettings(), hub("token", "create", "--user", "ops-ali").stdout.strip())
    assert principal.role == Role.ops and principal.scopes == {Scope.ops_admin, Scope.status_read}
    refused = hub("user", "add", "ops-bad", "--role", "ops", "--unit", "national", "--scope", "cases:read")
    assert refused.exit_code == 2 and "cannot hold" in refused.stdout
