"""The portal's secrets: production refuses to start with the published development form key or signing key (the
staff pages mint tokens with it), as every service refuses its development secrets."""

import pytest

from hub_shared.settings import HubSettings
from hub_shared.tokens import DEVELOPMENT_KEY
from hub_web.app import create_app
from hub_web.settings import DEVELOPMENT_ONLY_FORM_KEY, WebSettings

DEPLOYMENT_KEY = "a-key-from-the-deployments-secret-store-0123"


def test_production_refuses_the_development_form_key_naming_it_and_not_its_value(monkeypatch) -> None:
    monkeypatch.setenv("HUB_ENVIRONMENT", "production")
    monkeypatch.delenv("HUB_WEB_FORM_KEY", raising=False)
    with pytest.raises(SystemExit) as stop:
        create_app(HubSettings(service_name="web"), WebSettings())
    assert "HUB_WEB_FORM_KEY" in str(stop.value) and DEVELOPMENT_ONLY_FORM_KEY not in str(stop.value)
    monkeypatch.setenv("HUB_WEB_FORM_KEY", DEVELOPMENT_ONLY_FORM_KEY)  # set, but to the published value
    with pytest.raises(SystemExit, match="HUB_WEB_FORM_KEY"):
        create_app(HubSettings(service_name="web"), WebSettings())


def test_production_starts_with_keys_of_its_own_and_development_with_the_published_ones(monkeypatch) -> None:
    monkeypatch.setenv("HUB_ENVIRONMENT", "production")
    monkeypatch.setenv("HUB_WEB_FORM_KEY", DEPLOYMENT_KEY)
    monkeypatch.delenv("HUB_AUTH_SIGNING_KEY", raising=False)
    with pytest.raises(SystemExit) as stop:
        create_app(HubSettings(service_name="web"), WebSettings())
    assert "HUB_AUTH_SIGNING_KEY" in str(stop.value) and DEVELOPMENT_KEY not in str(stop.value)
    monkeypatch.setenv("HUB_AUTH_SIGNING_KEY", DEPLOYMENT_KEY)
    assert create_app(HubSettings(service_name="web"), WebSettings())
    monkeypatch.setenv("HUB_ENVIRONMENT", "development")
    monkeypatch.delenv("HUB_WEB_FORM_KEY")
    monkeypatch.delenv("HUB_AUTH_SIGNING_KEY")
    assert create_app(HubSettings(service_name="web"), WebSettings())


def test_a_short_form_key_is_refused() -> None:
    with pytest.raises(ValueError, match="form_key"):
        WebSettings(form_key="too-short")
