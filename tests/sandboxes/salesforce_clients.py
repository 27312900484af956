"""What the Salesforce sandbox tests use to talk to it: a requests session that trusts the sandbox CA, and
simple-salesforce on it. Fixtures are in conftest.py."""

from __future__ import annotations

from decimal import Decimal

import requests
from simple_salesforce import Salesforce


class _TrustingSession(requests.Session):
    """Verifies every request against the sandbox bundle (REQUESTS_CA_BUNDLE would override Session.verify)."""

    bundle = ""

    def request(self, method, url, *args, **kwargs):
        kwargs["verify"] = self.bundle
        return super().request(method, url, *args, **kwargs)


def session_trusting(bundle: str) -> requests.Session:
    session = _TrustingSession()
    session.bundle = bundle
    return session


def sdk(instance_url: str, session_id: str, session: requests.Session) -> Salesforce:
    """simple-salesforce at API 59.0, reading numbers as Decimal."""
    return Salesforce(instance_url=instance_url, session_id=session_id, session=session, version="59.0",
                      parse_float=Decimal)
