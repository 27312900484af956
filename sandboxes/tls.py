"""A locally generated certificate authority, so sandboxes speak HTTPS like the vendors do.

The SDKs then run their real TLS code path; clients are told to trust the CA through a bundle file
(CONCORD_CA_BUNDLE) that holds the system roots plus our CA, so the same bundle also works for
real vendor hosts in the same process.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme


@dataclass
class LocalCA:
    ca: trustme.CA
    server_cert: trustme.LeafCert
    bundle_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context


def create_local_ca(directory: Path) -> LocalCA:
    """Issue a CA and a loopback server certificate; write the trust bundle under `directory`.

    The bundle path is absolute: Dagster runs launched from the UI work in another directory.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Concord sandbox CA")
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    bundle_path = directory / "concord-sandbox-ca-bundle.pem"
    system_roots = Path(certifi.where()).read_bytes()
    bundle_path.write_bytes(system_roots + b"\n" + ca.cert_pem.bytes())
    return LocalCA(ca=ca, server_cert=server_cert, bundle_path=bundle_path)
