"""What the ops endpoints show of a failure, and the count of recent errors (the endpoints themselves run against a
real broker in tests/integration/test_ops_api.py)."""

import logging

from hub_shared.ops_api import RecentErrors, without_values


def test_a_reason_keeps_the_error_but_not_the_values_a_validation_error_quotes() -> None:
    reason = ("ValidationError: 2 validation errors for SubmitCase\nfull_name\n  String should have at most 100 characters "
              "[type=string_too_long, input_value='زهرا احمدی', input_type=str]\nphone\n  Value error "
              "[type=value_error, input_value=\"0912 'x' 1234567\", input_type=str]\nage [input_value=42]")
    shown = without_values(reason)
    assert "زهرا احمدی" not in shown and "0912" not in shown and "42" not in shown
    assert shown.count("input_value=…") == 3 and "string_too_long" in shown and "input_type=str" in shown
    assert without_values("KeyError: 'unit'") == "KeyError: 'unit'"


def test_recent_errors_counts_error_lines_of_the_last_hour_only() -> None:
    now = [0.0]
    errors = RecentErrors(clock=lambda: now[0])
    log = logging.getLogger("test.ops.errors")
    log.addHandler(errors)
    try:
        log.error("one")
        log.warning("not counted")
        now[0] = 1800
        log.critical("two")
        assert errors.count() == 2
        now[0] = 3601
        assert errors.count() == 1
    finally:
        log.removeHandler(errors)


async def test_without_a_broker_the_state_still_answers_and_the_dead_letters_say_to_try_again(tmp_path) -> None:
    import httpx

    from hub_routing.app import create_runtime
    from hub_shared.auth import Role
    from hub_shared.settings import HubSettings
    from hub_shared.testing import bearer

    runtime = create_runtime(HubSettings(service_name="routing", data_dir=tmp_path, database_url="",
                                         kafka_bootstrap_servers="127.0.0.1:9"))  # nothing listens there
    runtime.migrate()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing") as client:
        state = await client.get("/api/v1/ops/state", headers=bearer(Role.ops))
        assert state.status_code == 200
        assert state.json()["checks"]["database"] == "ok" and state.json()["checks"]["bus"] != "ok"
        assert state.json()["groups"] and all(group["lag"] is None for group in state.json()["groups"])
        letters = await client.get("/api/v1/ops/dead-letters", headers=bearer(Role.ops))
        assert letters.status_code == 503 and letters.json()["error"]["code"] == "broker_unavailable"
    await runtime.engine.dispose()
