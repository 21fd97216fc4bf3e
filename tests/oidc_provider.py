"""A small OpenID Connect provider the tests run on a local port: discovery, an authorization endpoint with a
page where a person picks who they are, a token endpoint that insists on PKCE (S256) and a JWKS. It signs ID
tokens with an RSA key of its own and can be told to misbehave (another nonce, another audience)."""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "hub-portal"
KID = "test-idp-1"


@dataclass
class IdentityProvider:
    port: int = 0
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # who may sign in: name -> the claims they get
    id_token_overrides: dict[str, Any] = field(default_factory=dict)  # claims to tamper with in the next ID tokens
    token_requests: list[dict[str, str]] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_env(self) -> dict[str, str]:
        """The hub's settings that point the portal and the services at this provider."""
        return {"HUB_AUTH_JWKS_URL": f"{self.issuer}/jwks", "HUB_AUTH_SSO_ISSUER": self.issuer, "HUB_AUTH_SSO_AUDIENCE": "people-hub",
                "HUB_AUTH_SSO_SUBJECT_CLAIM": "preferred_username", "HUB_WEB_OIDC_CLIENT_ID": CLIENT_ID,
                "HUB_WEB_OIDC_SCOPE": "openid profile"}

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize", "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks", "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"], "subject_types_supported": ["public"]}

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def approve(self, query: dict[str, str], person: str) -> str:
        """The redirect back to the client after `person` signed in: a one-time code for this request."""
        code = secrets.token_urlsafe(24)
        self._codes[code] = {**query, "person": person}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        asked = self._codes.pop(form.get("code", ""), None)  # a code serves once
        if asked is None or form.get("grant_type") != "authorization_code" or form.get("client_id") != asked["client_id"] \
                or form.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        if asked.get("code_challenge_method") != "S256" or _s256(verifier) != asked.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": asked["client_id"], "sub": secrets.token_hex(8), "iat": now, "exp": now + 300,
                  "nonce": asked.get("nonce"), **self.people[asked["person"]], **self.id_token_overrides}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300, "id_token": token}


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _page(query: dict[str, str], people: list[str]) -> str:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items())
    buttons = "".join(f'<button name="person" value="{html.escape(p)}">Sign in as {html.escape(p)}</button>' for p in people)
    return (f'<!doctype html><html lang="en"><head><title>Test identity provider</title></head><body><main><h1>Test identity provider</h1>'
            f'<form method="post" action="/authorize">{hidden}{buttons}</form></main></body></html>')


def _handler(provider: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize" and query.get("response_type") == "code" and query.get("client_id") == CLIENT_ID:
                self._send(200, "text/html; charset=utf-8", _page(query, list(provider.people)).encode())
            else:
                self._json(400 if url.path == "/authorize" else 404, {"error": "invalid_request"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/authorize":
                person = form.pop("person", "")
                if person not in provider.people:
                    self._json(400, {"error": "access_denied"})
                    return
                self.send_response(303)
                self.send_header("Location", provider.approve(form, person))
                self.end_headers()
            elif self.path == "/token":
                self._json(*provider.exchange(form))
            else:
                self._json(404, {"error": "not_found"})

        def _json(self, status: int, body: dict) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def running_provider(people: dict[str, dict[str, Any]]) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(people=people)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
