"""Intuit's OAuth 2.0 server, as far as a QuickBooks client meets it.

- `GET /.well-known/openid_sandbox_configuration` (and `openid_configuration`): the discovery document,
  with every endpoint pointing back at this sandbox, so intuitlib's AuthClient can be built on it.
- `GET /connect/oauth2`: the consent page, auto-approved here: 302 to redirect_uri with code, state, realmId.
- `POST /oauth2/v1/tokens/bearer`: grant_type=authorization_code or refresh_token, client id and secret in
  HTTP Basic (or in the form, client_secret_post). A refresh returns a new access token AND a new refresh
  token; the old refresh token is dead from then on (invalid_grant).
- `POST /v2/oauth2/tokens/revoke`: {"token": ...} revokes a refresh or access token.

Access tokens live `access_lifetime` seconds of the sandbox clock (3600, as Intuit's), refresh tokens 101 days.
Token values derive from the seed and a counter, so a run is reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sandboxes.http import Request, Response
from sandboxes.quickbooks import faults

ACCESS_LIFETIME = 3600
REFRESH_LIFETIME = 8_726_400  # 101 days, Intuit's x_refresh_token_expires_in
SCOPES = "com.intuit.quickbooks.accounting"

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def _oauth_error(error: str, status: int, description: str | None = None) -> Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return Response.json(body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})


class OAuthServer:
    def __init__(self, seed: int, realm_id: str, clock: Callable[[], datetime],
                 access_lifetime: int = ACCESS_LIFETIME) -> None:
        self.realm_id = realm_id
        self.clock = clock
        self.access_lifetime = access_lifetime
        self._secret_base = f"quickbooks-oauth:{seed}"
        self.client_id = "AB" + self._derive("client-id", 48)
        self.client_secret = self._derive("client-secret", 40)
        self._counter = 0
        self.access: dict[str, datetime | None] = {}  # token -> expiry (None: never)
        self.refresh: dict[str, datetime] = {}
        self.codes: dict[str, str] = {}  # authorization code -> redirect_uri

    def _derive(self, label: str, length: int) -> str:
        return hashlib.sha256(f"{self._secret_base}:{label}".encode()).hexdigest()[:length]

    def _mint(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}-" + self._derive(f"{kind}:{self._counter}", 40)

    # ---- tokens -----------------------------------------------------------------------------
    def register_access_token(self, token: str, expires: bool) -> None:
        """The token credentials() hands out; `expires=False` keeps it valid for clients that cannot refresh."""
        self.access[token] = self.clock() + timedelta(seconds=self.access_lifetime) if expires else None

    def new_refresh_token(self) -> str:
        token = self._mint("RT1")
        self.refresh[token] = self.clock() + timedelta(seconds=REFRESH_LIFETIME)
        return token

    def check_access(self, authorization: str) -> None:
        """Raises the 401 Fault QuickBooks answers for a missing, unknown, revoked or expired bearer token."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self.access:
            raise faults.authentication_failed()
        expiry = self.access[token]
        if expiry is not None and self.clock() >= expiry:
            raise faults.token_expired(token)

    def _token_response(self) -> Response:
        access = self._mint("eyJ")
        self.access[access] = self.clock() + timedelta(seconds=self.access_lifetime)
        body = {"x_refresh_token_expires_in": REFRESH_LIFETIME, "refresh_token": self.new_refresh_token(),
                "access_token": access, "token_type": "bearer", "expires_in": self.access_lifetime}
        return Response.json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ---- endpoints --------------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        form = {name: values[0] for name, values in request.form().items()}
        if not self._client_authenticated(request, form):
            return _oauth_error("invalid_client", 401)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            expiry = self.refresh.pop(token, None)  # popped: a refresh token works once
            if expiry is None or self.clock() >= expiry:
                return _oauth_error("invalid_grant", 400)
            return self._token_response()
        if grant == "authorization_code":
            redirect_uri = self.codes.pop(form.get("code", ""), None)
            if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                return _oauth_error("invalid_grant", 400)
            return self._token_response()
        return _oauth_error("unsupported_grant_type", 400)

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secret == self.client_secret

    def revoke(self, request: Request) -> Response:
        if not self._client_authenticated(request, {}):
            return _oauth_error("invalid_client", 401)
        try:
            token = json.loads(request.body or b"{}").get("token", "")
        except ValueError:
            return _oauth_error("invalid_request", 400)
        self.refresh.pop(token, None)
        self.access.pop(token, None)
        return Response(status=200, headers={"Content-Type": "application/json"})

    def authorize(self, request: Request) -> Response:
        """Consent is implied: the sandbox company's admin always says yes."""
        if request.arg("client_id") != self.client_id or request.arg("response_type") != "code":
            return _oauth_error("invalid_request", 400)
        redirect_uri = request.arg("redirect_uri") or ""
        code = self._mint("AB11")
        self.codes[code] = redirect_uri
        query = urlencode({"code": code, "state": request.arg("state") or "", "realmId": self.realm_id})
        return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})

    @staticmethod
    def discovery(base_url: str) -> dict:
        return {
            "issuer": base_url + "/op/v1",
            "authorization_endpoint": base_url + "/connect/oauth2",
            "token_endpoint": base_url + TOKEN_PATH,
            "userinfo_endpoint": base_url + "/v1/openid_connect/userinfo",
            "revocation_endpoint": base_url + "/v2/oauth2/tokens/revoke",
            "jwks_uri": base_url + "/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
