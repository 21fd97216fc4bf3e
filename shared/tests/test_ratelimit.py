import pytest

from hub_shared.ratelimit import RateLimiter, TooManyRequests, enforce


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_capacity_passes_then_waits_for_the_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(capacity=3, per_minute=6, clock=clock)  # one token every 10 s
    assert [limiter.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("1.2.3.4") == 10
    clock.now = 10
    assert limiter.allow("1.2.3.4") and not limiter.allow("1.2.3.4")
    assert limiter.allow("5.6.7.8"), "other clients are not affected"


def test_refusal_says_when_to_come_back_in_both_languages() -> None:
    limiter = RateLimiter(capacity=1, per_minute=1, clock=Clock())
    enforce(limiter, "k")
    with pytest.raises(TooManyRequests) as refusal:
        enforce(limiter, "k")
    assert refusal.value.status_code == 429 and refusal.value.headers["Retry-After"] == "60"
    assert "60" in refusal.value.detail["message_fa"] and "60" in refusal.value.detail["message_en"]


def test_memory_stays_bounded_under_many_keys() -> None:
    limiter = RateLimiter(capacity=1, per_minute=1, max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) == 100
