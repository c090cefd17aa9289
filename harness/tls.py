"""A self-signed certificate for ``localhost`` / ``127.0.0.1`` and the contexts that use it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTNAME = "localhost"


@dataclass(frozen=True)
class SelfSignedCert:
    """PEM files of one self-signed certificate; it is its own CA, so clients trust the cert."""

    cert_file: Path
    key_file: Path

    @classmethod
    def ensure(cls, directory: Path) -> SelfSignedCert:
        """Reuse the certificate in ``directory`` or create one (valid for 30 days)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert = cls(directory / "cert.pem", directory / "key.pem")
        if not (cert.cert_file.exists() and cert.key_file.exists()):
            cert._generate()
        return cert

    def _generate(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
        now = dt.datetime.now(dt.UTC)
        alt_names = x509.SubjectAlternativeName(
            [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(alt_names, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.key_file.chmod(0o600)
        self.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def server_context(self) -> ssl.SSLContext:
        """Context for a server presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifying client context that trusts exactly this certificate."""
        return ssl.create_default_context(cafile=str(self.cert_file))
