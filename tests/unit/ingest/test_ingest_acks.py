"""The commit acknowledgement published on cadence/v1/_ack/<source>."""

from __future__ import annotations

import json

import pytest

from cadence.protocol.acks import CommitAck, RejectedSeq, decode_ack, encode_ack


def test_round_trip_and_wire_form() -> None:
    ack = CommitAck("gw-p01", 8410235, [40, 41, 42], [RejectedSeq(43, "ingest.unknown_signal")])
    payload = encode_ack(ack)
    assert decode_ack(payload) == ack
    assert json.loads(payload) == {
        "source": "gw-p01",
        "epoch": 8410235,
        "seq": [40, 41, 42],
        "rejected": [{"seq": 43, "code": "ingest.unknown_signal"}],
        "v": 1,
    }


@pytest.mark.parametrize(
    "payload", [b"", b"{}", b'{"source": "gw", "epoch": "x"}', b'{"source":"gw","epoch":1,"x":1}']
)
def test_anything_else_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError, match="not a commit acknowledgement"):
        decode_ack(payload)
