"""The requests sessions every connector's SDK sends through: pinned CA bundle, shared rate limit.

Every SDK Concord uses (stripe, simple-salesforce, python-quickbooks) sends its HTTP through a
requests session we hand it, so this is the one place where trust and pacing are decided.

Two things would silently drop the bundle a connector was told to trust (CONCORD_CA_BUNDLE):
requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override `Session.verify`
(psf/requests#3829), and stripe's RequestsClient passes the module-global `stripe.ca_bundle_path`
on every call. Pinning the bundle per request on the session keeps each client's trust its own.
"""

from __future__ import annotations

from typing import Any

import requests
from pyrate_limiter import Limiter
from requests_oauthlib import OAuth2Session


class PinnedBundle:
    """Mixin for a requests.Session subclass: every request verifies against `ca_bundle` and, when
    a limiter is set, waits for a permit of the vendor account's shared rate limit first."""

    ca_bundle: str | None = None
    limiter: Limiter | None = None
    limit_name: str = "requests"

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if self.ca_bundle and kwargs.get("verify") is not False:  # never re-enable what a caller turned off
            kwargs["verify"] = self.ca_bundle
        if self.limiter is not None:
            self.limiter.try_acquire(self.limit_name)  # blocks until the account may send again
        return super().request(method, url, *args, **kwargs)


class PinnedSession(PinnedBundle, requests.Session):
    pass


class PinnedOAuth2Session(PinnedBundle, OAuth2Session):
    pass


def configure(session: PinnedBundle, ca_bundle: str | None, limiter: Limiter | None = None) -> PinnedBundle:
    if ca_bundle:
        session.ca_bundle = session.verify = str(ca_bundle)
    session.limiter = limiter
    return session


def session_trusting(ca_bundle: str | None, limiter: Limiter | None = None) -> requests.Session:
    """A session verifying against `ca_bundle` (system trust when None), paced by `limiter` if given."""
    return configure(PinnedSession(), ca_bundle, limiter)
