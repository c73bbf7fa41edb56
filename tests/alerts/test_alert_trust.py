"""Signatures pass and fail as each source is configured; the certificate inside a message is never trusted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support.cap_docs import SENDER, vi_alert
from support.cap_signing import make_cert, sign
from controller.alerts.cap import InvalidCap
from controller.alerts.intake import read_document
from controller.alerts.sources import Source
from controller.alerts.trust import Trust, Untrusted
from controller.errors import InputError

NOW = datetime.now(timezone.utc)
DOC = vi_alert("SH-SIG-1", sent=NOW, expires=NOW + timedelta(hours=3))


@pytest.fixture(scope="module")
def province():
    return make_cert("Đài KTTV Sơn Hà")


@pytest.fixture(scope="module")
def stranger():
    return make_cert("Kẻ giả mạo")


def source(**trust) -> Source:
    return Source(id="kttv-son-ha", kind="upload", trust=Trust(**trust))


def test_signed_alert_passes_against_the_configured_certificate(province):
    alert = read_document(sign(DOC, *province), source(senders=(SENDER,), require_signature=True,
                                                       certificates=(province[0],)))
    assert alert.signed and alert.identifier == "SH-SIG-1" and alert.infos[0].is_vietnamese


def test_tampered_content_fails(province):
    signed = sign(DOC, *province).replace("cấp 12".encode(), "cấp 2".encode())
    with pytest.raises(Untrusted) as err:
        read_document(signed, source(require_signature=True, certificates=(province[0],)))
    assert err.value.code == "cap_signature_invalid" and err.value.status == 403


def test_a_certificate_carried_in_the_message_is_not_trusted(province, stranger):
    """Signed (validly!) by a stranger whose certificate travels in the message: refused."""
    with pytest.raises(Untrusted) as err:
        read_document(sign(DOC, *stranger), source(require_signature=True, certificates=(province[0],)))
    assert err.value.code == "cap_signature_invalid"


def test_unsigned_refused_when_required_and_accepted_when_not(province):
    with pytest.raises(Untrusted) as err:
        read_document(DOC, source(require_signature=True, certificates=(province[0],)))
    assert err.value.code == "cap_unsigned"
    alert = read_document(DOC, source())
    assert not alert.signed


def test_a_bad_signature_is_refused_even_where_signatures_are_optional(province, stranger):
    with pytest.raises(Untrusted):
        read_document(sign(DOC, *stranger), source(certificates=(province[0],)))


def test_any_of_several_configured_certificates_may_sign(province, stranger):
    alert = read_document(sign(DOC, *province), source(require_signature=True, certificates=(stranger[0], province[0])))
    assert alert.signed


def test_sender_outside_the_accepted_list_is_refused():
    with pytest.raises(Untrusted) as err:
        read_document(DOC, source(senders=("khac@example.vn",)))
    assert err.value.code == "cap_sender_refused"


def test_content_beside_the_signature_is_not_read(province):
    """An info slipped in after signing: the signature breaks, so nothing of it is believed."""
    signed = sign(DOC, *province)
    extra = signed.replace(b"</alert>", b"<note>x</note></alert>")
    with pytest.raises((Untrusted, InvalidCap)):
        read_document(extra, source(require_signature=True, certificates=(province[0],)))


def test_requiring_signatures_without_certificates_is_a_configuration_error():
    with pytest.raises(InputError) as err:
        Trust(require_signature=True)
    assert err.value.code == "trust_no_certificates"
    with pytest.raises(InputError):
        Trust(certificates=("not a pem",))
