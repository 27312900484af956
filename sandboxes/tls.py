"""A locally generated certificate authority, so sandboxes speak HTTPS like the vendors do.

The SDKs then run their real TLS code path; clients are told to trust the CA through a bundle file
(CONCORD_CA_BUNDLE) that holds the system roots plus our CA, so the same bundle also works for
real vendor hosts in the same process.
"""

from __future__ import annotations

import os
import secrets
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


CA_FILE = "concord-sandbox-ca.pem"  # the CA's certificate and private key (0600), kept for the next start
BUNDLE_FILE = "concord-sandbox-ca-bundle.pem"


def _shared_ca(directory: Path) -> trustme.CA:
    """The directory's CA: loaded when an earlier start made one, else made and kept there.

    Every sandbox started on one directory (`concord sandbox up` twice, a benchmark beside a demo) trusts the
    same CA, so starting one never invalidates the CONCORD_CA_BUNDLE another one exported. The file appears
    at once through a hard link, so of two processes starting together one writes it and the other reads it.
    """
    path = directory / CA_FILE
    if not path.exists():
        ca = trustme.CA(organization_name="Concord sandbox CA")
        partial = directory / f".{CA_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(ca.cert_pem.bytes() + ca.private_key_pem.bytes())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another start made it first: use that one
        finally:
            partial.unlink()
    pem = path.read_bytes()
    marker = b"-----END CERTIFICATE-----"
    cut = pem.index(marker) + len(marker)
    return trustme.CA.from_pem(pem[:cut].strip() + b"\n", pem[cut:].strip() + b"\n")


def create_local_ca(directory: Path) -> LocalCA:
    """The directory's CA (see _shared_ca), a loopback server certificate, and the trust bundle under `directory`.

    The bundle path is absolute: Dagster runs launched from the UI work in another directory.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    ca = _shared_ca(directory)
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    bundle_path = directory / BUNDLE_FILE
    system_roots = Path(certifi.where()).read_bytes()
    partial = directory / f".{BUNDLE_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    partial.write_bytes(system_roots + b"\n" + ca.cert_pem.bytes())
    partial.replace(bundle_path)  # readers never see a half-written bundle
    return LocalCA(ca=ca, server_cert=server_cert, bundle_path=bundle_path)
