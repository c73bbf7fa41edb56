"""Who a source believes: accepted senders, and XML signatures checked against pinned certificates.

A CAP document may carry its own ``ds:X509Certificate``; trusting it would let anyone sign
anything, so it is never used.  A signature counts only if it verifies against one of the
certificates configured for the source, and only the part the signature covers (the whole
``alert``, by an enveloped reference) is read afterwards, so nothing can be slipped in beside
a valid signature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree
from signxml import InvalidInput, InvalidSignature, XMLVerifier
from signxml.exceptions import InvalidCertificate, InvalidDigest

from controller.alerts.cap import CAP_NS, Alert, alert_from_element
from controller.errors import InputError

log = logging.getLogger(__name__)

DS_NS = "http://www.w3.org/2000/09/xmldsig#"


class Untrusted(InputError):
    """A valid CAP alert this source must not accept (sender or signature)."""

    status = 403


@dataclass(frozen=True)
class Trust:
    """A source's trust setting.

    ``senders`` empty means any sender (only sensible for a manual upload by a signed-in
    official); ``certificates`` are PEM texts.  ``require_signature`` without certificates
    is refused when the setting is built, because nothing could ever pass.
    """

    senders: tuple[str, ...] = ()
    require_signature: bool = False
    certificates: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.require_signature and not self.certificates:
            raise InputError("trust_no_certificates", "Bắt buộc chữ ký số nhưng chưa cấu hình chứng thư nào.",
                             "certificates")
        for pem in self.certificates:
            try:
                x509.load_pem_x509_certificate(pem.encode())
            except ValueError:
                raise InputError("trust_bad_certificate", "Chứng thư số không đọc được (cần định dạng PEM).",
                                 "certificates") from None

    def accepts_sender(self, sender: str) -> bool:
        return not self.senders or sender.lower() in {s.lower() for s in self.senders}


def _signatures(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{{{DS_NS}}}Signature")


def apply_trust(root: etree._Element, trust: Trust) -> Alert:
    """Check signature and sender of a schema-valid alert; return the model of what is trusted."""
    signed_root: etree._Element | None = None
    if _signatures(root) and trust.certificates:
        signed_root = _verify(root, trust)
    elif trust.require_signature:
        log.warning("cap refused: unsigned, but the source requires a signature")
        raise Untrusted("cap_unsigned", "Bản tin không có chữ ký số, nguồn này bắt buộc chữ ký.", "signature")
    alert = alert_from_element(signed_root if signed_root is not None else root, signed=signed_root is not None)
    if not trust.accepts_sender(alert.sender):
        log.warning("cap refused: sender %r not accepted by the source", alert.sender)
        raise Untrusted("cap_sender_refused", f"Nguồn này không nhận bản tin của '{alert.sender}'.", "sender")
    return alert


def _verify(root: etree._Element, trust: Trust) -> etree._Element:
    if len(_signatures(root)) != 1:
        raise Untrusted("cap_signature_ambiguous", "Bản tin có nhiều chữ ký số, không xác định được.", "signature")
    reasons = []
    for pem in trust.certificates:
        try:
            result = XMLVerifier().verify(etree.tostring(root), x509_cert=pem, expect_references=1)
        except (InvalidSignature, InvalidDigest, InvalidCertificate, InvalidInput) as exc:
            reasons.append(type(exc).__name__)
            continue
        signed = result.signed_xml
        if signed is None or signed.tag != f"{{{CAP_NS}}}alert":
            reasons.append("signature does not cover the alert")
            continue
        return signed
    log.warning("cap refused: signature does not verify against any configured certificate (%s)", ", ".join(reasons))
    raise Untrusted("cap_signature_invalid",
                    "Chữ ký số không khớp với chứng thư đã cấu hình cho nguồn này (hoặc nội dung đã bị sửa).", "signature")
