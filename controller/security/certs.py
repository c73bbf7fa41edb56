"""A small private CA and the broker's TLS certificate, for a deployment without its own PKI.

``loaxa broker certs`` writes ``tls/ca.crt`` (given to devices at enrollment),
``tls/ca.key``, ``tls/server.crt`` and ``tls/server.key`` next to the generated broker
configuration.  Keys are ECDSA P-256 and readable only by their owner; the server
certificate names every host devices may use to reach the broker.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.devices.credentials import write_secret
from loaxa.wire_time import utcnow

CA_YEARS = 10
SERVER_YEARS = 2


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loa Xa"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(h.strip() for h in hosts if h.strip()):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def create_ca(tls_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    cert = (x509.CertificateBuilder().subject_name(_name("Loa Xa broker CA")).issuer_name(_name("Loa Xa broker CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    tls_dir.mkdir(parents=True, exist_ok=True)
    write_secret(tls_dir / "ca.key", _pem_key(key))
    (tls_dir / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def load_or_create_ca(tls_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Reuse the CA devices already trust; create it on first use."""
    if (tls_dir / "ca.crt").exists() and (tls_dir / "ca.key").exists():
        cert = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((tls_dir / "ca.key").read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{tls_dir / 'ca.key'} is not an EC key")
        return cert, key
    return create_ca(tls_dir)


def issue_server_cert(tls_dir: Path, hosts: list[str], stem: str = "server") -> TlsFiles:
    """(Re)issue a server certificate for ``hosts``, signed by the deployment's CA.

    ``stem`` names the files: ``server`` is the broker's, ``icecast`` the streaming server's,
    so every server devices reach is vouched for by the one CA they pinned."""
    if not any(h.strip() for h in hosts):
        raise ValueError("the broker certificate needs at least one host name or address")
    ca_cert, ca_key = load_or_create_ca(tls_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    first = next(h.strip() for h in hosts if h.strip())
    cert = (x509.CertificateBuilder().subject_name(_name(first)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * SERVER_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_san(hosts), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_secret(tls_dir / f"{stem}.key", _pem_key(key))
    (tls_dir / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(tls_dir / "ca.crt", tls_dir / "ca.key", tls_dir / f"{stem}.crt", tls_dir / f"{stem}.key")
