"""Staff sign-in for the embedded default's local accounts (the users registry, `hub user add NAME --password`).

The session is a signed, expiring cookie, so any number of portal replicas serve it without a shared store: it
carries the user name, a fingerprint of the password hash (changing the password, or removing the user, ends every
session at once), the sign-in time and the last page's time. The idle timeout counts from the last page; the
cookie is signed anew at each page. It carries nothing else: the role and unit are read from the registry at each
page, and each call to a service carries a bearer token minted for the user with the services' signing key
(HUB_AUTH_SIGNING_KEY) that lives two minutes. The services decide what the user may see.

A person who signs in through the identity provider (`hub_web.oidc`) has no entry in the registry: the cookie
then also carries the role, unit and scopes the provider's ID token gave, mapped as the services map its bearer
tokens, and its epoch is SSO_EPOCH. Such a session ends at its idle or absolute limit or at sign-out.

The lockout after repeated wrong passwords is kept in the process, on purpose: the portal owns no database, and
local accounts are the embedded default's, where one portal process runs. With several replicas each counts its
own failures (an attacker spreading guesses over N replicas gets N times the attempts); a deployment that runs
several signs its staff in through its identity provider, which keeps the lockout for every application. It
counts per name, known or not, so its message tells nothing about which names exist."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

from hub_shared.access import Role, Scope
from hub_shared.passwords import fingerprint, hash_password, needs_rehash, password_matches
from hub_shared.tokens import AuthSettings, mint
from hub_shared.users import User, UserRegistry

COOKIE = "hub_staff"
TOKEN_MINUTES = 2
FAILURES_ALLOWED = 5
LOCKOUT_MINUTES = 15
SSO_EPOCH = "sso"  # a session from the identity provider: no password to fingerprint
_MAX_TRACKED = 10_000  # names with recent failures kept at most (made-up names must not grow memory without bound)


class Lockout:
    """At most FAILURES_ALLOWED wrong passwords for one account name in LOCKOUT_MINUTES; then no sign-in for that
    name (even with the right password) until the oldest of them is LOCKOUT_MINUTES old."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, minutes: int = LOCKOUT_MINUTES, clock=time.monotonic) -> None:
        self.allowed, self.window, self._clock = allowed, minutes * 60, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # sign-ins are checked in worker threads (Argon2 stays off the event loop)

    def locked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name)) >= self.allowed

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self._clock())
            self._failures.move_to_end(name)
            while len(self._failures) > _MAX_TRACKED:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
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
    identity: tuple[str, str, tuple[str, ...]] | None = None  # SSO sessions: the role, unit and scopes the provider gave


class SessionCookie:
    """`base64url(json).signature`, HMAC-SHA256 with a key of its own derived from the portal's form key."""

    def __init__(self, key: str, idle_minutes: int, session_hours: int, clock=time.time) -> None:
        self._key = hmac.new(key.encode(), b"staff-session-key", hashlib.sha256).digest()
        self.idle, self.longest, self._clock = idle_minutes * 60, session_hours * 3600, clock

    def new(self, subject: str, epoch: str, identity: tuple[str, str, tuple[str, ...]] | None = None) -> Session:
        now = int(self._clock())
        return Session(subject, epoch, now, now, identity)

    def seal(self, session: Session) -> str:
        fields = [session.subject, session.epoch, session.signed_in, session.seen]
        if session.identity is not None:
            role, unit, scopes = session.identity
            fields.append([role, unit, list(scopes)])
        body = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def open(self, value: str | None) -> Session | None:
        """The session a genuine, unexpired cookie holds, with its last page's time set to now; else None."""
        body, _, signature = (value or "").partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            subject, epoch, signed_in, seen, *rest = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            identity = (str(rest[0][0]), str(rest[0][1]), tuple(str(scope) for scope in rest[0][2])) if rest else None
        except (ValueError, TypeError, IndexError):
            return None
        now = int(self._clock())
        if not (isinstance(signed_in, int) and isinstance(seen, int)) or now - seen > self.idle or now - signed_in > self.longest:
            return None
        return Session(str(subject), str(epoch), signed_in, now, identity)

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
        if needs_rehash(stored):  # hashed with older parameters: today's, while the password is at hand
            stored = self._rehashed(name, stored, password)
        return self.cookie.new(name, fingerprint(stored))

    def _rehashed(self, name: str, stored: str, password: str) -> str:
        fresh = hash_password(password)
        try:
            return fresh if self.registry.replace_password(name, stored, fresh) else stored
        except OSError:  # a read-only registry (mounted from a secret): the old hash still serves
            return stored

    def change_password(self, user: User, current: str, new: str) -> Session | str:
        """A new session for the new password (every other session of the user ends: the epoch changes), or why
        not: `wrong` (the current password), `locked`, or `changed` (someone changed it meanwhile)."""
        if self.lockout.locked(user.subject):
            return "locked"
        stored = user.password_hash
        if stored is None or not password_matches(stored, current):
            self.lockout.failed(user.subject)  # a stolen session may not guess the password here either
            return "wrong"
        fresh = hash_password(new)
        if not self.registry.replace_password(user.subject, stored, fresh):
            return "changed"
        return self.cookie.new(user.subject, fingerprint(fresh))

    def sso_session(self, subject: str, role: Role, unit: str, scopes: frozenset[Scope]) -> Session:
        return self.cookie.new(subject, SSO_EPOCH, (role.value, unit, tuple(sorted(scope.value for scope in scopes))))

    def user_of(self, cookie_value: str | None) -> tuple[User, Session] | None:
        """The user a live session belongs to: for a local account, the registered user while their password is the
        one they signed in with; for the identity provider's, the role, unit and scopes it gave at sign-in."""
        session = self.cookie.open(cookie_value)
        if session is None:
            return None
        if session.epoch == SSO_EPOCH:
            return self._sso_user(session)
        user = self.registry.get(session.subject)
        if user is None or not user.password_hash or not hmac.compare_digest(fingerprint(user.password_hash), session.epoch):
            return None
        return user, session

    def _sso_user(self, session: Session) -> tuple[User, Session] | None:
        if session.identity is None:
            return None
        role, unit, scopes = session.identity
        try:  # signed by us at sign-in, so only checked for shape
            user = User.model_construct(subject=session.subject, role=Role(role), unit=unit,
                                        scopes=[Scope(scope) for scope in scopes], password_hash=None)
        except ValueError:
            return None
        return (user, session) if user.scopes else None

    def token_for(self, user: User) -> str:
        return mint(self.auth, user.subject, user.role, user.unit, minutes=TOKEN_MINUTES, scopes=user.scopes or None)
