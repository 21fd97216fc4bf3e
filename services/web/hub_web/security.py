"""What every answer carries: a strict Content-Security-Policy and its companions; and the forms' anti-forgery
check, a signed double-submit token: the same random value, signed with the portal's key, in an HttpOnly
SameSite cookie and in a hidden field. A forged form from another site can send the cookie but cannot read it."""

import base64
import hashlib
import hmac
import secrets

from fastapi import Request, Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def security_headers(request: Request, call_next) -> Response:
    response = await call_next(request)
    response.headers.update(HEADERS)
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages may show a citizen's case: never kept by the browser
    return response


class FormGuard:
    COOKIE = "hub_form"
    FIELD = "form_token"

    def __init__(self, key: str, secure: bool) -> None:
        self._key = key.encode()
        self._secure = secure

    def token_for(self, request: Request) -> str:
        """The token of this browser's cookie if it is genuine, else a new one."""
        current = request.cookies.get(self.COOKIE, "")
        return current if self.genuine(current) else self._new()

    def attach(self, response: Response, token: str) -> None:
        response.set_cookie(self.COOKIE, token, httponly=True, samesite="strict", secure=self._secure, path="/")

    def accepts(self, request: Request, submitted: str | None) -> bool:
        """A POST may act only if its hidden field equals its cookie and the pair was signed here."""
        cookie = request.cookies.get(self.COOKIE, "")
        return bool(submitted) and hmac.compare_digest(cookie, submitted) and self.genuine(cookie)

    def genuine(self, token: str) -> bool:
        nonce, _, signature = token.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._sign(nonce))

    def _new(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._sign(nonce)}"

    def _sign(self, nonce: str) -> str:
        digest = hmac.new(self._key, b"form-token:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
