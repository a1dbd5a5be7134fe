"""Commit acknowledgements, version 1: what Cadence publishes on ``cadence/v1/_ack/<source>`` after a commit.

The broker's PUBACK only says the broker has the message in memory; this message says Cadence's store has
**committed** it (docs/protocol.md, "Acknowledgement"). A sender may delete from its own buffer every
``seq`` listed, in ``seq`` or in ``rejected`` (a rejected message is quarantined with its reason and must
not be re-sent). A message not acknowledged is re-sent with the same key: ingest is idempotent.

```json
{"source": "gw-p01", "epoch": 8410235, "seq": [40, 41, 42],
 "rejected": [{"seq": 43, "code": "ingest.unknown_signal"}], "v": 1}
```

>>> ack = decode_ack(encode_ack(CommitAck("gw-p01", 7, [3, 4], [RejectedSeq(5, "ingest.invalid_value")])))
>>> ack.seq, ack.rejected[0].code
([3, 4], 'ingest.invalid_value')
"""

from __future__ import annotations

import msgspec

ACK_VERSION = 1


class RejectedSeq(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A message that was refused and quarantined: the sender drops it and should look at why."""

    seq: int
    code: str


class CommitAck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Messages of one ``(source, epoch)`` that are committed (``seq``) or quarantined (``rejected``)."""

    source: str
    epoch: int
    seq: list[int] = msgspec.field(default_factory=list)
    rejected: list[RejectedSeq] = msgspec.field(default_factory=list)
    v: int = ACK_VERSION


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CommitAck)


def encode_ack(ack: CommitAck) -> bytes:
    """The JSON payload of an acknowledgement."""
    return _encoder.encode(ack)


def decode_ack(payload: bytes) -> CommitAck:
    """Parse an acknowledgement; ``ValueError`` with the reason when it is not one."""
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as err:
        raise ValueError(f"not a commit acknowledgement: {err}") from err
