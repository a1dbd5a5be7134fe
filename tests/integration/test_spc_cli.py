"""``cadence spc`` as a user runs it: a real process on the qcc files of tests/fixtures/qcc (see SOURCE.md
there for the published limits reproduced here), JSON on stdout, clear coded errors, an SVG chart."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

CADENCE = [sys.executable, "-m", "cadence"]
QCC = Path(__file__).resolve().parents[1] / "fixtures" / "qcc"
PISTONRINGS = [str(QCC / "pistonrings.txt"), "--column", "diameter", "--subgroup-column", "sample"]
SVG = "{http://www.w3.org/2000/svg}"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CADENCE, "spc", *args], capture_output=True, text=True, timeout=120, check=False)


def _parts(*args: str) -> dict[str, dict[str, Any]]:
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    return {part["chart"]: part for part in json.loads(result.stdout)}


def _flagged(part: dict[str, Any], rule: str | None = None) -> list[int]:
    return sorted({v["index"] for v in part["violations"] if rule is None or v["rule"] == rule})


def _close(actual: float, published: float) -> bool:
    # qcc prints 7 significant digits: agreement to the printed digits is 5e-7 relative at worst.
    return actual == pytest.approx(published, rel=1e-6)


def test_xbar_r_on_pistonrings_reproduces_qcc_and_flags_37_to_39() -> None:
    parts = _parts(*PISTONRINGS, "--chart", "xbar-r", "--phase1", "25")
    assert list(parts) == ["xbar", "r"]
    x, r = parts["xbar"], parts["r"]
    # SOURCE.md: qcc 3.0 vignette, phase I = 1-25.
    assert _close(x["center"], 74.00118) and _close(x["sigma"], 0.009785039)
    assert _close(x["lcl"], 73.98805) and _close(x["ucl"], 74.0143)
    assert _close(r["center"], 0.02276) and r["lcl"] == 0 and _close(r["ucl"], 0.04812533)
    assert x["phase1"] == "1-25" and x["excluded"] == []
    assert _flagged(x, "we1") == [37, 38, 39]
    assert all(v["index"] > 25 for v in x["violations"])  # phase I is in control
    rows = [line.split() for line in (QCC / "pistonrings.txt").read_text(encoding="ascii").splitlines()[1:]]
    subgroup_37 = [float(r[0]) for r in rows if r[1] == "37"]
    assert len(x["values"]) == 40 and x["values"][36] == pytest.approx(sum(subgroup_37) / 5, rel=1e-12)


def test_trial_column_is_the_same_as_phase1() -> None:
    by_count = _parts(*PISTONRINGS, "-c", "xbar-r", "--phase1", "25")
    by_trial = _parts(*PISTONRINGS, "-c", "xbar-r", "--trial-column", "trial")
    assert by_count == by_trial


def test_xbar_s_and_the_exact_convention() -> None:
    parts = _parts(*PISTONRINGS, "-c", "xbar-s", "--trial-column", "trial", "--rules", "none")
    s = parts["s"]
    assert (
        _close(s["center"], 0.009240037) and _close(s["sigma"], 0.009829977) and _close(s["ucl"], 0.01930242)
    )
    assert _flagged(parts["xbar"], "limit") == [37, 38, 39]
    tabulated = _parts(*PISTONRINGS, "-c", "xbar-r", "--phase1", "25")["xbar"]
    exact = _parts(*PISTONRINGS, "-c", "xbar-r", "--phase1", "25", "--convention", "exact")["xbar"]
    # σ̂ = R̄/d₂ with d₂ = 2.326 printed vs 2.325929… computed.
    assert exact["sigma"] / tabulated["sigma"] == pytest.approx(2.326 / 2.3259289, rel=1e-6)


def test_ewma_and_cusum_first_signal_at_37() -> None:
    ewma = _parts(*PISTONRINGS, "-c", "ewma", "--phase1", "25", "--lambda", "0.2", "--L", "3")["ewma"]
    cusum = _parts(*PISTONRINGS, "-c", "cusum", "--phase1", "25", "--k", "0.5", "--h", "5")["cusum"]
    assert _flagged(ewma)[0] == 37 and _flagged(cusum)[0] == 37
    assert {v["rule"] for v in cusum["violations"]} == {"cusum_upper"}
    # EWMA limits vary point by point (exact limits): one per point, widening to the asymptote.
    assert isinstance(ewma["lcl"], list) and len(ewma["ucl"]) == 40
    assert ewma["ucl"][0] < ewma["ucl"][1] < ewma["ucl"][-1]


def test_imr_on_individual_values() -> None:
    parts = _parts(str(QCC / "pistonrings.txt"), "--column", "diameter", "-c", "imr", "--phase1", "125")
    assert list(parts) == ["i", "mr"]
    assert len(parts["i"]["values"]) == 200 and parts["mr"]["values"][0] is None


def test_p_on_orangejuice_flags_15_and_23_in_phase_one() -> None:
    args = [str(QCC / "orangejuice.txt"), "-c", "p", "--count-column", "D", "--size-column", "size"]
    p = _parts(*args, "--trial-column", "trial")["p"]
    assert _close(p["center"], 0.2313333) and _close(p["sigma"], 0.05963526)
    assert _close(p["lcl"], 0.05242755) and _close(p["ucl"], 0.4102391)
    assert [i for i in _flagged(p, "we1") if i <= 30] == [15, 23]
    # The textbook's revised limits: samples 15 and 23 dropped for their known causes.
    revised = _parts(*args, "--trial-column", "trial", "--exclude", "15,23")["p"]
    assert revised["excluded"] == [15, 23]
    assert _close(revised["center"], 0.215) and _close(revised["ucl"], 0.3892972)
    np_args = ["-c", "np", "--count-column", "D", "--size-column", "size", "--phase1", "30"]
    np_chart = _parts(str(QCC / "orangejuice.txt"), *np_args)["np"]
    assert _close(np_chart["center"], 11.56667) and _close(np_chart["ucl"], 20.51196)


def test_c_on_circuit_with_iterative_exclusion() -> None:
    args = [str(QCC / "circuit.txt"), "-c", "c", "--count-column", "x", "--trial-column", "trial"]
    first = _parts(*args)["c"]
    assert (
        _close(first["center"], 19.84615)
        and _close(first["lcl"], 6.481447)
        and _close(first["ucl"], 33.21086)
    )
    assert [i for i in _flagged(first, "we1") if i <= 26] == [6, 20]
    revised = _parts(*args, "--exclude", "auto")["c"]
    assert revised["excluded"] == [6, 20]
    assert _close(revised["center"], 19.66667) and _close(revised["ucl"], 32.9708)
    u = _parts(str(QCC / "circuit.txt"), "-c", "u", "--count-column", "x", "--size-column", "size",
               "--trial-column", "trial", "--exclude", "6,20")["u"]  # fmt: skip
    # Per board, 100 boards per inspection unit (SOURCE.md); σ per point is √(ū/100).
    assert _close(u["center"], 0.1966667) and _close(u["ucl"], 0.329708) and _close(u["lcl"], 0.06362532)


def test_p_with_varying_sizes_gives_limits_per_point(tmp_path: Path) -> None:
    data = tmp_path / "lots.csv"
    data.write_text("lot;rejects;inspected\n1;3;50\n2;5;80\n3;2;50\n4;9;120\n", encoding="utf-8")
    p = _parts(
        str(data), "-c", "p", "--count-column", "rejects", "--size-column", "inspected", "--rules", "none"
    )["p"]
    assert isinstance(p["ucl"], list) and len(p["ucl"]) == 4
    assert p["ucl"][0] == p["ucl"][2] > p["ucl"][1] > p["ucl"][3]  # narrower for larger samples
    assert len(p["sigma"]) == 4


def test_french_spreadsheet_csv_with_fixed_subgroups(tmp_path: Path) -> None:
    data = tmp_path / "cotes.csv"
    rows = ["10,1", "10,3", "9,8", "10,0", "10,2", "9,9", "10,4", "9,7", "10,1", "10,0", "9,9", "10,2"]
    data.write_text("cote\n" + "\n".join(rows) + "\n", encoding="utf-8")
    parts = _parts(str(data), "-c", "xbar-r", "--subgroup-size", "3", "--sep", ";")
    assert len(parts["xbar"]["values"]) == 4 and parts["xbar"]["values"][0] == pytest.approx(10.0666667)


@pytest.mark.parametrize(
    ("content", "args", "code", "words"),
    [
        (None, ["-c", "c", "--count-column", "x"], "spc.file", ["no such file"]),
        ("", ["-c", "c", "--count-column", "x"], "spc.file", ["empty file"]),
        ("x,size\n3,10\n", ["-c", "c", "--count-column", "defects"], "spc.column", ["'defects'", "x, size"]),
        ("x\n3\nfour\n5\n", ["-c", "c", "--count-column", "x"], "spc.value", ["line 3", "'x'", "'four'"]),
        ("x\n3\n-1\n5\n", ["-c", "c", "--count-column", "x"], "spc.value", ["line 3", "below 0"]),
        ("d,n\n3,10\n12,10\n", ["-c", "p", "--count-column", "d", "--size-column", "n"], "spc.value",
         ["line 3", "more than the sample size"]),
        ("x,n\n3,10\n4\n", ["-c", "c", "--count-column", "x"], "spc.value", ["line 3", "1 cells"]),
        ("v\n1\n2\n3\n4\n5\n", ["-c", "xbar-r", "--subgroup-size", "2"], "spc.data", ["left over", "line 6"]),
        ("v\n1\n2\n", ["-c", "xbar-r"], "spc.options", ["--subgroup-column", "--subgroup-size"]),
        ("v\n1\n2\n3\n", ["-c", "imr", "--out", "chart.png"], "spc.options", ["only .svg"]),
        ("v\n1\n2\n3\n", ["-c", "ewma", "--rules", "we"], "spc.options", ["run rules"]),
        ("v\n1\n1\n1\n", ["-c", "imr"], "spc.data", ["phase I", "moving range"]),
        ("v\n1\n2\n3\n", ["-c", "bar"], "spc.options", ["--chart 'bar'", "xbar-r"]),
    ],
)  # fmt: skip
def test_bad_input_gives_a_clear_coded_error(
    tmp_path: Path, content: str | None, args: list[str], code: str, words: list[str]
) -> None:
    data = tmp_path / "data.csv"
    if content is not None:
        data.write_text(content, encoding="utf-8")
    result = subprocess.run(
        [*CADENCE, "spc", str(data), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"[{code}]" in message and "Traceback" not in result.stderr
    for word in words:
        assert word in message
    assert result.stdout == ""


def test_svg_chart_is_well_formed_with_limits_zones_and_violations(tmp_path: Path) -> None:
    out = tmp_path / "charts" / "pistonrings.svg"
    result = _run(*PISTONRINGS, "-c", "xbar-r", "--phase1", "25", "--out", str(out))
    assert result.returncode == 0, result.stderr
    root = ET.parse(out).getroot()  # noqa: S314 - our own output; raises on malformed XML
    assert root.tag == f"{SVG}svg"
    parts = root.findall(f"{SVG}g[@class='part']")
    assert [g.get("id") for g in parts] == ["part-xbar", "part-r"]
    xbar = parts[0]
    for cls in ("ucl", "lcl", "center"):
        assert len(xbar.findall(f"{SVG}path[@class='{cls}']")) == 1, cls
    assert xbar.findall(f"{SVG}rect[@class='zone-a']") and xbar.findall(f"{SVG}rect[@class='zone-c']")
    assert len(xbar.findall(f"{SVG}line[@class='phase-boundary']")) == 1
    flagged = xbar.findall(f"{SVG}circle[@class='point violation']")
    tips = [c.findtext(f"{SVG}title") or "" for c in flagged]
    assert any(t.startswith("37:") and "we1" in t for t in tips)
    assert len(xbar.findall(f"{SVG}circle")) == 40
    labels = [t.text or "" for t in xbar.iter(f"{SVG}text")]
    assert "UCL 74.0143" in labels and "LCL 73.988" in labels


def test_help_documents_every_option_with_an_example() -> None:
    result = subprocess.run(
        [*CADENCE, "spc", "--help"], capture_output=True, text=True, timeout=60, check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )  # fmt: skip
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    options = ["--chart", "--column", "--subgroup-column", "--subgroup-size", "--count-column",
               "--size-column", "--phase1", "--trial-column", "--exclude", "--rules", "--convention",
               "--lambda", "--L", "--k", "--h", "--fir", "--sep", "--out"]  # fmt: skip
    for option in options:
        assert f"E.g. {option}" in text, option
    assert "pistonrings.txt" in text and "SVG only" in text
