"""Requests sessions that verify TLS against one CA bundle, whatever else says otherwise.

Two things would silently drop the bundle a connector was told to trust (CONCORD_CA_BUNDLE):
requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override `Session.verify`
(psf/requests#3829), and stripe's RequestsClient passes the module-global `stripe.ca_bundle_path`
on every call. Pinning the bundle per request on the session keeps each client's trust its own.
"""

from __future__ import annotations

from typing import Any

import requests
from requests_oauthlib import OAuth2Session


class PinnedBundle:
    """Mixin for a requests.Session subclass: every request verifies against `ca_bundle`."""

    ca_bundle: str | None = None

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if self.ca_bundle and kwargs.get("verify") is not False:  # never re-enable what a caller turned off
            kwargs["verify"] = self.ca_bundle
        return super().request(method, url, *args, **kwargs)


class PinnedSession(PinnedBundle, requests.Session):
    pass


class PinnedOAuth2Session(PinnedBundle, OAuth2Session):
    pass


def session_trusting(ca_bundle: str | None) -> requests.Session:
    """A session verifying against `ca_bundle`, or a plain one (system trust) when None."""
    session = PinnedSession()
    if ca_bundle:
        session.ca_bundle = session.verify = str(ca_bundle)
    return session
