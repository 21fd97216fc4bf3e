"""The identity provider's signing keys (a JWKS over https, or a copy in a file for air-gapped installs),
fetched with a timeout, cached, refetched for a key rotated in, and paused after a failure."""

import json
import threading
import time
from functools import lru_cache
from typing import Any, NoReturn
from urllib.parse import urlparse
from urllib.request import url2pathname

import jwt

KEYS_RETRY_SECONDS = 10  # after a failed JWKS fetch, refuse at once for this long instead of waiting on every request
KEYS_REFETCH_SECONDS = 30  # an unknown kid refetches the JWKS at most this often (a key the provider just rotated in)


class KeysUnavailable(Exception):
    """The JWKS could not be fetched or read, or held no usable key."""


class _KeySet(jwt.PyJWKClient):
    """The identity provider's keys. PyJWKClient keeps the set for `lifespan` and, for an unknown kid, fetches
    it again once (at most once per `cooldown_duration`). Added here: after a failed fetch, fetches fail at
    once for KEYS_RETRY_SECONDS (cached keys still serve), so an outage costs one timeout per pause, not one
    per request; and one lock, so requests waiting on a fetch see its outcome instead of fetching again."""

    def __init__(self, url: str, timeout: float, lifespan: float, cooldown: float) -> None:
        super().__init__(url, lifespan=lifespan, timeout=timeout, cooldown_duration=cooldown)
        self.failed: tuple[float, str] | None = None
        self.lock = threading.Lock()

    def key_for(self, kid: str) -> jwt.PyJWK:
        """PyJWKClientError when the set (fetched fine) has no key `kid`; KeysUnavailable when there is no set."""
        with self.lock:
            try:
                self.get_signing_keys()  # the cached set, or a fetch
            except Exception as error:  # unreachable, not JSON, no usable key, a malformed key: not the token's fault
                self._failed(error)
            try:
                return self.get_signing_key(kid)  # an unknown kid: one fetch (per cooldown), then PyJWKClientError
            except jwt.PyJWKClientError as error:
                if isinstance(error, jwt.PyJWKClientConnectionError):
                    self._failed(error)
                raise
            except Exception as error:
                self._failed(error)

    def fetch_data(self) -> Any:
        if self.failed and time.monotonic() - self.failed[0] < KEYS_RETRY_SECONDS:
            raise _Paused(f"{self.failed[1]} (not fetched again for {KEYS_RETRY_SECONDS}s)")
        data = self.read()
        self.failed = None
        return data

    def read(self) -> Any:
        return super().fetch_data()

    def _failed(self, error: Exception) -> NoReturn:
        reason = str(error) if isinstance(error, _Paused) else f"{type(error).__name__}: {error}"[:300]
        if not isinstance(error, _Paused):
            self.failed = (time.monotonic(), reason)
        raise KeysUnavailable(reason) from None


class _Paused(jwt.PyJWKClientConnectionError):
    """No fetch: the last one failed moments ago."""


class _KeyFile(_KeySet):
    """PyJWKClient fetches http(s) only; an air-gapped install copies the provider's JWKS into a file. The same
    caching and kid rules apply, except that an unknown kid rereads the file at once (reading is cheap)."""

    def __init__(self, url: str, lifespan: float) -> None:
        super().__init__("https://jwks.invalid/", timeout=1, lifespan=lifespan, cooldown=0)  # read() opens the file
        self.uri = url
        self.path = url2pathname(urlparse(url).path)

    def read(self) -> Any:
        try:
            with open(self.path, "rb") as file:
                return json.load(file)
        except OSError as error:
            raise jwt.PyJWKClientConnectionError(f"cannot read {self.path}: {error.strerror}") from error


@lru_cache(maxsize=8)
def key_set(url: str, timeout: float, lifespan: float) -> _KeySet:
    """One key set per JWKS for the process, so its cache serves every request."""
    if urlparse(url).scheme == "file":
        return _KeyFile(url, lifespan)
    return _KeySet(url, timeout, lifespan, cooldown=KEYS_REFETCH_SECONDS)
