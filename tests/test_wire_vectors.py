"""The bytes on the wire do not change by accident: every message type against a recorded vector.

Agents in the field run older releases; a plan, command or release manifest whose canonical
bytes moved would fail their signature check or their parser.  tests/data/wire/vectors.json
was written by the code of the day the vectors were recorded (tests/support/wire_vectors.py
says how); a change of the wire format is a new protocol version, never an edit of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loaxa import protocol
from loaxa.protocol import Verifier
from tests.support.wire_vectors import fixed_signer, signed_messages, unsigned_messages, wire_bytes

VECTORS = json.loads((Path(__file__).parent / "data" / "wire" / "vectors.json").read_text(encoding="utf-8"))


def test_the_vectors_cover_every_message_type():
    types = {m.TYPE for m in (*signed_messages().values(), *unsigned_messages().values())}
    assert types == set(protocol.MESSAGE_TYPES) | {"heads", "release", "release_keys"}
    assert set(VECTORS) == set(signed_messages()) | set(unsigned_messages())


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_each_message_is_written_byte_for_byte_as_recorded(name):
    assert wire_bytes()[name] == VECTORS[name]


@pytest.mark.parametrize("name", sorted(signed_messages()))
def test_each_recorded_signed_message_opens_into_the_same_message(name):
    msg = signed_messages()[name]
    assert Verifier([fixed_signer().public_key]).open(VECTORS[name].encode("utf-8"), type(msg)) == msg


@pytest.mark.parametrize("name", sorted(unsigned_messages()))
def test_each_recorded_device_message_decodes_into_the_same_message(name):
    msg = unsigned_messages()[name]
    assert protocol.decode(VECTORS[name].encode("utf-8"), type(msg)) == msg
