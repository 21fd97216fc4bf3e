"""The forms' anti-forgery token and the headers every page carries."""

from types import SimpleNamespace

from hub_web.security import CSP, FormGuard

GUARD = FormGuard("a-key-for-these-tests-only", secure=False)


def browser(cookie: str | None) -> SimpleNamespace:
    return SimpleNamespace(cookies={} if cookie is None else {FormGuard.COOKIE: cookie})


def test_a_form_posted_with_the_token_of_its_own_cookie_is_accepted() -> None:
    token = GUARD.token_for(browser(None))
    assert GUARD.accepts(browser(token), token)


def test_a_form_without_the_token_or_with_another_browsers_is_refused() -> None:
    mine, theirs = GUARD.token_for(browser(None)), GUARD.token_for(browser(None))
    assert mine != theirs
    assert not GUARD.accepts(browser(mine), None)
    assert not GUARD.accepts(browser(mine), "")
    assert not GUARD.accepts(browser(mine), theirs)
    assert not GUARD.accepts(browser(None), mine)


def test_a_token_not_signed_with_the_portals_key_is_refused_even_when_cookie_and_field_agree() -> None:
    forged = "chosen-by-an-attacker.c2lnbmF0dXJl"
    assert not GUARD.accepts(browser(forged), forged)
    other_key = FormGuard("another-key-entirely-123", secure=False).token_for(browser(None))
    assert not GUARD.accepts(browser(other_key), other_key)


def test_a_genuine_cookie_keeps_its_token_and_a_forged_one_is_replaced() -> None:
    token = GUARD.token_for(browser(None))
    assert GUARD.token_for(browser(token)) == token
    assert GUARD.token_for(browser("forged.value")) != "forged.value"


def test_the_policy_allows_no_inline_script_and_nothing_from_elsewhere() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert "unsafe-inline" not in CSP and "http" not in CSP
