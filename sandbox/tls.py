"""A throwaway certificate authority for stand-ins served over HTTPS (MSAL and the Graph SDK refuse plain http).

``LocalCA()`` makes a CA and a server certificate for ``127.0.0.1``, ``::1`` and ``localhost`` at start, valid for
a day, in a temporary directory; ``LocalCA(directory)`` keeps them there for a year and reuses them on the next start,
so a demo's stored connector keeps trusting the same CA file. ``server_context()`` serves with it and ``ca_file`` is
the PEM a client is told to trust — per client (the connector's setting), never by turning verification off or
changing the process's trust store.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class LocalCA:
    def __init__(
        self, directory: str | None = None, hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")
    ) -> None:
        temporary = None if directory else tempfile.TemporaryDirectory(prefix="gaby-standin-tls-")
        self._dir = temporary
        folder = temporary.name if temporary is not None else str(directory)
        os.makedirs(folder, exist_ok=True)
        self.ca_file = os.path.join(folder, "ca.pem")
        self._cert_file = os.path.join(folder, "server.pem")
        if directory and os.path.exists(self.ca_file) and os.path.exists(self._cert_file):
            return  # made by an earlier start: clients configured with this CA file keep working
        self._make(hosts, datetime.timedelta(days=365 if directory else 1))

    def _make(self, hosts: tuple[str, ...], lifetime: datetime.timedelta) -> None:
        now = datetime.datetime.now(datetime.UTC)
        valid = (now - datetime.timedelta(minutes=5), now + lifetime)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Gaby stand-in CA"))
            .issuer_name(_name("Gaby stand-in CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid[0])
            .not_valid_after(valid[1])
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid[0])
            .not_valid_after(valid[1])
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        with open(self.ca_file, "wb") as out:
            out.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        with open(os.open(self._cert_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
            out.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._cert_file)
        return context

    def cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
