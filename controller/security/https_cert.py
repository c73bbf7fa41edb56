"""The controller's own HTTPS certificate, from the CA devices already pin.

Enrollment answers carry a device's password and media downloads carry it too, so the
controller serves HTTPS itself rather than relying on a reverse proxy someone must set up.
The certificate comes from the deployment's CA (the broker's ``tls/ca.crt``), which every
enrolled pole keeps: a pole verifies the controller with the file it already holds.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from controller.config import ControllerConfig
from controller.security.broker_config import BrokerFiles, broker_dir, is_loopback
from controller.security.certs import issue_server_cert

log = logging.getLogger(__name__)

STEM = "controller"
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class HttpsFiles:
    cert: Path
    key: Path
    ca_cert: Path


def https_hosts(config: ControllerConfig) -> list[str]:
    """Every name a client may use for the controller: the public URL's host, the listen address, the broker's names."""
    hosts = [urlsplit(config.public_url).hostname or "", config.http.host]
    hosts += list(config.broker.cert_hosts) + [config.broker.device_host, "localhost", "127.0.0.1"]
    return [h for h in dict.fromkeys(h.strip("[]") for h in hosts) if h not in WILDCARD_HOSTS]


def _covers(cert_path: Path, hosts: list[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    names = {str(n).lower() for n in san.get_values_for_type(x509.DNSName)}
    names |= {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    for h in hosts:
        try:
            h = str(ipaddress.ip_address(h))
        except ValueError:
            h = h.lower()
        if h not in names:
            return False
    return True


def ensure_https_files(config: ControllerConfig) -> HttpsFiles:
    """The certificate and key to serve HTTPS with; issue them from the CA when missing or not naming every host."""
    tls = BrokerFiles(broker_dir(config))
    if config.http.tls_cert:
        return HttpsFiles(Path(config.http.tls_cert), Path(config.http.tls_key), tls.ca_cert)
    cert, key = tls.tls_dir / f"{STEM}.crt", tls.tls_dir / f"{STEM}.key"
    hosts = https_hosts(config)
    if not (cert.exists() and key.exists() and _covers(cert, hosts)):
        issue_server_cert(tls.tls_dir, hosts, stem=STEM)
        log.info("issued the controller's HTTPS certificate for %s", ", ".join(hosts))
    return HttpsFiles(cert, key, tls.ca_cert)

