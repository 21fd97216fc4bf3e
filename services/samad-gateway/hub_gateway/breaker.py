"""A small circuit breaker per remote: after `failures` consecutive failures the circuit opens and no
call is made; after `cooldown` seconds one trial call is let through (half-open), which closes the
circuit on success or opens it again on failure. State is per process: a restart starts closed."""

import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """The remote is considered down; the call was not made."""


class CircuitBreaker:
    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = failures
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self._cooldown else "open"

    def seconds_to_trial(self) -> float:
        """How long until a call may be tried: 0 unless the circuit is open."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    def check(self) -> None:
        """Raise CircuitOpen unless a call may be made now (closed, or the single half-open trial)."""
        state = self.state
        if state == "open" or (state == "half-open" and self._trial):
            raise CircuitOpen("the remote's circuit is open")
        self._trial = state == "half-open"

    def succeeded(self) -> None:
        self._failures, self._opened_at, self._trial = 0, None, False

    def failed(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at, self._trial = self._clock(), False
