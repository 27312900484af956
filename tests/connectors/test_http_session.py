"""The shared connector session: proxy variables are honoured when set, and not looked up when not."""

from __future__ import annotations

import pytest
import requests

from connectors.http_session import session_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox
from sandboxes.tls import create_local_ca


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    tls = create_local_ca(tmp_path_factory.mktemp("ca"))
    server = StripeSandbox(build_seed(42), tls=tls, rate_limit_per_second=None).start()
    server.bundle = str(tls.bundle_path)
    yield server
    server.stop()


def test_a_proxy_variable_is_honoured_and_no_variable_means_a_direct_connection(sandbox, monkeypatch):
    """Input: HTTPS_PROXY pointing at a closed port -> the request goes to the proxy and fails; the same
    request from a session made with no proxy variable set reaches the sandbox directly."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    direct = session_trusting(sandbox.bundle)
    assert direct.get(sandbox.base_url + "/v1/customers?limit=1", headers=headers, timeout=10).status_code == 200
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    proxied = session_trusting(sandbox.bundle)
    with pytest.raises(requests.exceptions.ProxyError):
        proxied.get(sandbox.base_url + "/v1/customers?limit=1", headers=headers, timeout=10)
