"""Staff sign-in for the embedded default's local accounts (the users registry, `hub user add NAME --password`).

The session is a signed, expiring cookie, so any number of portal replicas serve it without a shared store: it
carries the user name, a fingerprint of the password hash (changing the password, or removing the user, ends every
session at once), the sign-in time and the last page's time. The idle timeout counts from the last page; the
cookie is signed anew at each page. It carries nothing else: the role and unit are read from the registry at each
page, and each call to a service carries a bearer token minted for the user with the services' signing key
(HUB_AUTH_SIGNING_KEY) that lives two minutes. The services decide what the user may see.

The lockout after repeated wrong passwords is kept in the process: with several replicas each counts its own
failures (an attacker spreading guesses over N replicas gets N times the attempts) until a shared store holds
them. It counts per name, known or not, so its message tells nothing about which names exist."""

import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

from hub_shared.passwords import fingerprint, password_matches
from hub_shared.tokens import AuthSettings, mint
from hub_shared.users import User, UserRegistry

COOKIE = "hub_staff"
TOKEN_MINUTES = 2
FAILURES_ALLOWED = 5
LOCKOUT_MINUTES = 15
_MAX_TRACKED = 10_000  # names with recent failures kept at most (made-up names must not grow memory without bound)


class Lockout:
    """At most FAILURES_ALLOWED wrong passwords for one account name in LOCKOUT_MINUTES; then no sign-in for that
    name (even with the right password) until the oldest of them is LOCKOUT_MINUTES old."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, minutes: int = LOCKOUT_MINUTES, clock=time.monotonic) -> None:
        self.allowed, self.window, self._clock = allowed, minutes * 60, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def locked(self, name: str) -> bool:
        return len(self._recent(name)) >= self.allowed

    def failed(self, name: str) -> None:
        self._recent(name).append(self._clock())
        self._failures.move_to_end(name)
        while len(self._failures) > _MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)

    def _recent(self, name: str) -> deque[float]:
        times = self._failures.setdefault(name, deque())
        while times and self._clock() - times[0] >= self.window:
            times.popleft()
        return times


@dataclass(frozen=True)
class Session:
    subject: str
    epoch: str  # fingerprint of the password hash at sign-in
    signed_in: int
    seen: int


class SessionCookie:
    """`base64url(json).signature`, HMAC-SHA256 with a key of its own derived from the portal's form key."""

    def __init__(self, key: str, idle_minutes: int, session_hours: int, clock=time.time) -> None:
        self._key = hmac.new(key.encode(), b"staff-session-key", hashlib.sha256).digest()
        self.idle, self.longest, self._clock = idle_minutes * 60, session_hours * 3600, clock

    def new(self, subject: str, epoch: str) -> Session:
        now = int(self._clock())
        return Session(subject, epoch, now, now)

    def seal(self, session: Session) -> str:
        body = base64.urlsafe_b64encode(json.dumps([session.subject, session.epoch, session.signed_in, session.seen],
                                                   separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def open(self, value: str | None) -> Session | None:
        """The session a genuine, unexpired cookie holds, with its last page's time set to now; else None."""
        body, _, signature = (value or "").partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            subject, epoch, signed_in, seen = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            return None
        now = int(self._clock())
        if not (isinstance(signed_in, int) and isinstance(seen, int)) or now - seen > self.idle or now - signed_in > self.longest:
            return None
        return Session(str(subject), str(epoch), signed_in, now)

    def _sign(self, body: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")


class StaffDesk:
    """Who is signed in, and the bearer token their pages call the services with."""

    def __init__(self, users_file: Path, cookie: SessionCookie, auth: AuthSettings, lockout: Lockout | None = None) -> None:
        self.registry = UserRegistry(users_file)
        self.cookie, self.auth = cookie, auth
        self.lockout = lockout or Lockout()

    def sign_in(self, name: str, password: str) -> Session | str:
        """A new session, or why not: `locked` or `wrong` (the same for an unknown name as for a wrong password)."""
        if self.lockout.locked(name):
            return "locked"
        user = self.registry.get(name) if name else None
        stored = user.password_hash if user else None
        if not password_matches(stored, password) or stored is None:
            self.lockout.failed(name)
            return "wrong"
        self.lockout.succeeded(name)
        return self.cookie.new(name, fingerprint(stored))

    def user_of(self, cookie_value: str | None) -> tuple[User, Session] | None:
        """The registered user a live session belongs to, while their password is the one they signed in with."""
        session = self.cookie.open(cookie_value)
        if session is None:
            return None
        user = self.registry.get(session.subject)
        if user is None or not user.password_hash or not hmac.compare_digest(fingerprint(user.password_hash), session.epoch):
            return None
        return user, session

    def token_for(self, user: User) -> str:
        return mint(self.auth, user.subject, user.role, user.unit, minutes=TOKEN_MINUTES, scopes=user.scopes or None)
