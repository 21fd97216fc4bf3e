from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from hub_shared.auth import (ALGORITHM, AUDIENCE, ISSUER, ROLE_SCOPES, STAFF, AuthSettings, NotAuthenticated, Principal, Role,
                             Scope, mint, verify)

SETTINGS = AuthSettings(signing_key=SecretStr("a-test-signing-key-that-is-long-enough-0123"))


def test_a_minted_token_names_who_what_and_where() -> None:
    principal = verify(SETTINGS, mint(SETTINGS, "maryam", Role.expert, "labour/tehran"))
    assert principal == Principal(subject="maryam", role=Role.expert, unit="labour/tehran", scopes=ROLE_SCOPES[Role.expert])


def test_a_token_may_grant_fewer_scopes_than_its_role_but_never_more() -> None:
    narrowed = verify(SETTINGS, mint(SETTINGS, "samad-link", Role.gateway, "national", scopes=[Scope.status_read]))
    assert narrowed.scopes == {Scope.status_read}
    with pytest.raises(ValueError, match="cannot hold"):
        mint(SETTINGS, "centre", Role.presidential_centre, "national", scopes=[Scope.personal_data_read])
    with pytest.raises(NotAuthenticated):  # a token signed with the right key but claiming more than its role
        verify(SETTINGS, forge(role="unit_responder", scope="cases:read personal-data:read"))


@pytest.mark.parametrize("role", list(Role))
def test_no_machine_client_reads_personal_data_and_only_cleared_roles_see_confidential_cases(role: Role) -> None:
    scopes = ROLE_SCOPES[role]
    if role not in STAFF:
        assert not scopes & {Scope.personal_data_read, Scope.cases_read, Scope.cases_confidential, Scope.audit_read}
    cleared = {Role.office_manager, Role.inspector, Role.provincial_supervisor, Role.national_supervisor}
    assert (Scope.cases_confidential in scopes) == (role in cleared)


@pytest.mark.parametrize("unit,target,covered", [
    ("labour/tehran", "labour/tehran/rey/performance-office", True),
    ("labour/tehran", "labour/tehran", True),
    ("labour/tehran", "labour/tehranpars/performance-office", False),  # a prefix of the name is not a subtree
    ("labour/tehran", "labour/isfahan/performance-office", False),
    ("labour/tehran", "health/tehran/performance-office", False),
    ("national", "hajj/fars/performance-office", True),
])
def test_a_principal_covers_its_unit_and_everything_below(unit: str, target: str, covered: bool) -> None:
    assert Principal("s", Role.provincial_supervisor, unit).covers(target) is covered


def forge(**overrides) -> str:
    now = datetime.now(UTC)
    claims = {"sub": "s", "role": "expert", "unit": "labour", "scope": "cases:read", "aud": AUDIENCE, "iss": ISSUER, "iat": now,
              "exp": now + timedelta(minutes=5), **overrides}
    key = claims.pop("key", SETTINGS.signing_key.get_secret_value())
    return jwt.encode(claims, key, algorithm=claims.pop("alg", ALGORITHM))


@pytest.mark.parametrize("token,reason", [
    (forge(exp=datetime.now(UTC) - timedelta(seconds=1)), "expired"),
    (forge(aud="another-system"), "audience"),
    (forge(iss="someone-else"), "not valid"),
    (forge(key="a-different-key-that-is-also-long-enough-99"), "not valid"),
    (forge(role="emperor"), "not valid"),
    (forge(alg="HS512"), "not valid"),
    ("not.a.token", "not valid"),
])
def test_tampered_expired_and_foreign_tokens_are_refused_with_a_reason(token: str, reason: str) -> None:
    with pytest.raises(NotAuthenticated) as refusal:
        verify(SETTINGS, token)
    assert refusal.value.status_code == 401 and reason in refusal.value.detail["message_en"]


def test_a_token_edited_after_signing_is_refused() -> None:
    header, payload, signature = mint(SETTINGS, "s", Role.expert, "labour/tehran").split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"s","role":"national_supervisor","unit":"national"}').decode()
    with pytest.raises(NotAuthenticated):
        verify(SETTINGS, f"{header}.{forged_payload}.{signature}")


def test_a_short_signing_key_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="signing_key"):
        AuthSettings(signing_key=SecretStr("short"))
