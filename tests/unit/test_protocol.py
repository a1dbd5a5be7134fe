"""Wire protocol v1: round trips, and every refusal says what is wrong."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.domain import Batch, IdempotencyKey, MachineState, SampleBlock, StateChange, Stroke, Waveform
from cadence.errors import InvalidValue, PayloadMalformed, PayloadTooLarge, UnsupportedVersion
from cadence.protocol import Limits, MessageKind, decode_message, encode_batch, parse_topic, topic_for

T0 = 1_764_403_200_000_000


def _message(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "v": 1,
        "source": "gw-p01",
        "epoch": 7,
        "seq": 3,
        "machine": "P01",
        "samples": [{"signal": "oil_temp", "t0": T0, "dt": 1_000_000, "values": [45.1, 45.2]}],
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_full_round_trip() -> None:
    waveform = Waveform(
        T0, 40_000, {"pressure": np.array([0.0, 120.5, 230.25]), "position": np.array([0, 50, 80.0])}
    )
    stroke = Stroke(
        "P01",
        12,
        T0,
        T0 + 8_000_000,
        good=False,
        features={"peak_pressure_bar": 230.25},
        scrap_reason="underformed",
        order="OF-1",
        part="BRK",
        lot="L1",
        material_lot="H-5",
        serial="P01-00000012",
        die="D-17",
        waveform=waveform,
    )
    batch = Batch(
        IdempotencyKey("gw-p01", 2**63 - 1, 0),
        "P01",
        samples=(
            SampleBlock.regular("pressure", T0, 2_000, np.linspace(0, 230, 50)),
            SampleBlock.irregular("oil_temp", [T0 + 5, T0 + 1_000_007], [45.0, 45.1]),
        ),
        strokes=(stroke,),
        states=(StateChange(T0, MachineState.DOWN, "breakdown.hydraulic"),),
    )
    decoded = decode_message(encode_batch(batch, sent_us=T0), received_us=99)
    assert decoded.key == batch.key
    assert decoded.samples == batch.samples
    assert decoded.strokes == batch.strokes
    assert decoded.states == batch.states
    assert decoded.received_us == 99
    assert decoded.points == 52


def test_digest_ignores_send_time_but_not_content() -> None:
    batch = Batch(IdempotencyKey("gw", 1, 1), "P01", samples=(SampleBlock.regular("oil_temp", T0, 1, [1.0]),))
    a = decode_message(encode_batch(batch, sent_us=T0))
    b = decode_message(encode_batch(batch, sent_us=T0 + 5))
    other = Batch(batch.key, "P01", samples=(SampleBlock.regular("oil_temp", T0, 1, [2.0]),))
    assert a.digest == b.digest
    assert decode_message(encode_batch(other)).digest != a.digest


@pytest.mark.parametrize(
    ("payload", "error", "words"),
    [
        (b"not json", PayloadMalformed, "malformed"),
        (_message(v=2), UnsupportedVersion, "version 2"),
        (_message(extra=1), PayloadMalformed, "extra"),
        (_message(seq=-1), PayloadMalformed, "$.seq"),
        (_message(source="bad source"), PayloadMalformed, "$.source"),
        (_message(samples=[]), PayloadMalformed, "no samples"),
        (_message(samples=[{"signal": "t", "values": [1.0]}]), PayloadMalformed, "timestamps missing"),
        (
            _message(samples=[{"signal": "t", "ts": [T0], "values": [1.0, 2.0]}]),
            PayloadMalformed,
            "1 timestamps",
        ),
        (
            _message(samples=[{"signal": "t", "ts": [T0 // 1000], "values": [1.0]}]),
            InvalidValue,
            "milliseconds",
        ),
        (
            _message(samples=[{"signal": "t", "t0": T0, "dt": 0, "values": [1.0]}]),
            PayloadMalformed,
            "$.samples[0].dt",
        ),
        (
            _message(samples=[{"signal": "t", "t0": T0, "dt": 1, "values": ["x"]}]),
            PayloadMalformed,
            "values[0]",
        ),
        (_message(samples=[], states=[{"ts": T0, "state": "sleeping"}]), InvalidValue, "not one of running"),
        (
            _message(samples=[], strokes=[{"n": 1, "start": T0, "end": T0 - 1, "good": True}]),
            InvalidValue,
            "end is before start",
        ),
    ],
)
def test_refusals_say_why(payload: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        decode_message(payload)
    assert words in str(info.value)


def test_size_caps() -> None:
    with pytest.raises(PayloadTooLarge, match="exceeds the 1024-byte limit"):
        decode_message(b" " * 2000, Limits(max_bytes=1024))
    many = _message(samples=[{"signal": "t", "t0": T0, "dt": 1, "values": [1.0] * 11}])
    with pytest.raises(PayloadTooLarge, match="11 samples exceed the 10-sample limit"):
        decode_message(many, Limits(max_points=10))


def test_topics() -> None:
    assert parse_topic(topic_for("P-01.a", MessageKind.SAMPLES)) == ("P-01.a", MessageKind.SAMPLES)
    for bad in ("cadence/v2/P01/samples", "cadence/v1/P01", "cadence/v1/P01/other", "cadence/v1/+/samples"):
        with pytest.raises(ValueError, match="topic"):
            parse_topic(bad)


@given(st.binary(max_size=300))
def test_junk_never_escapes_the_error_tree(junk: bytes) -> None:
    with contextlib.suppress(PayloadMalformed, UnsupportedVersion, InvalidValue, PayloadTooLarge):
        decode_message(junk)


def test_digest_does_not_depend_on_the_json_spelling() -> None:
    regular = _message(samples=[{"signal": "oil_temp", "t0": T0, "dt": 1_000_000, "values": [45.1, 45.2]}])
    listed = _message(samples=[{"signal": "oil_temp", "ts": [T0, T0 + 1_000_000], "values": [45.1, 45.2]}])
    spaced = json.dumps(json.loads(regular), indent=2, sort_keys=True).encode()
    assert decode_message(regular).digest == decode_message(listed).digest == decode_message(spaced).digest
    shifted = _message(
        samples=[{"signal": "oil_temp", "t0": T0 + 1, "dt": 1_000_000, "values": [45.1, 45.2]}]
    )
    other_seq = _message(seq=4)
    other_state = _message(states=[{"ts": T0, "state": "idle"}])
    digests = {decode_message(p).digest for p in (regular, shifted, other_seq, other_state)}
    assert len(digests) == 4
