"""The sandboxes' local CA: one per directory, kept, so a second start never invalidates the first's bundle."""

from __future__ import annotations

import ssl
import stat

import httpx

from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox
from sandboxes.tls import CA_FILE, create_local_ca


def test_a_second_start_on_the_same_directory_keeps_the_first_servers_trusted(tmp_path):
    """Input: a sandbox started with the CA of a directory, then a second CA made for the same directory (as a
    second `concord sandbox up` does); a client holding the first bundle path still verifies the first server."""
    first = create_local_ca(tmp_path)
    server = StripeSandbox(build_seed(42), tls=first, rate_limit_per_second=None).start()
    try:
        second = create_local_ca(tmp_path)
        assert second.bundle_path == first.bundle_path
        assert second.ca.cert_pem.bytes() == first.ca.cert_pem.bytes()
        context = ssl.create_default_context(cafile=str(first.bundle_path))
        with httpx.Client(verify=context, headers={"Authorization": f"Bearer {server.api_key}"}) as client:
            assert client.get(server.base_url + "/v1/customers", params={"limit": 1}).status_code == 200
    finally:
        server.stop()
    assert stat.S_IMODE((tmp_path / CA_FILE).stat().st_mode) == 0o600  # it holds the CA's private key


def test_separate_directories_get_separate_cas(tmp_path):
    one, two = create_local_ca(tmp_path / "a"), create_local_ca(tmp_path / "b")
    assert one.ca.cert_pem.bytes() != two.ca.cert_pem.bytes()
