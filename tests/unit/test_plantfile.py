"""The plant file: the example loads, and every kind of mistake is reported with file, key, value, rule."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cadence.domain.signals import SignalKind
from cadence.domain.states import DEFAULT_REASONS
from cadence.errors import ConfigError
from cadence.plantfile import load_plant, plant_from_mapping


@pytest.fixture
def plant_data(example_plant_path: Path) -> dict[str, Any]:
    return tomllib.loads(example_plant_path.read_text(encoding="utf-8"))


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        plant_from_mapping(data, source="plant.toml")
    assert info.value.code == "config.invalid"
    return str(info.value)


def test_example_plant_loads(example_plant_path: Path) -> None:
    plant = load_plant(example_plant_path)
    assert [m.id for m in plant.machines] == ["P01", "P02", "P03", "P04", "P05", "P06"]
    p03 = plant.machine("P03")
    assert p03.tonnage_t == 160
    assert p03.signal("pressure").kind is SignalKind.WAVEFORM
    assert p03.signal("pressure").sampling_hz >= 500
    assert p03.signal("oil_temp").resolution == pytest.approx(0.1)
    assert [s.name for s in plant.shifts] == ["matin", "après-midi", "nuit"]
    assert plant.machines_of_line("L2")[0].id == "P04"


def test_machine_signal_overrides_profile(plant_data: dict[str, Any]) -> None:
    plant_data["machines"][0]["signals"] = {
        "pressure": {"unit": "bar", "sampling_hz": 1000, "resolution": 0.1}
    }
    plant = plant_from_mapping(plant_data)
    assert plant.machine("P01").signal("pressure").sampling_hz == 1000
    assert plant.machine("P02").signal("pressure").sampling_hz == 500


def test_bad_value_names_file_key_value_and_rule(plant_data: dict[str, Any]) -> None:
    plant_data["profiles"]["hydraulic_press"]["signals"]["pressure"]["sampling_hz"] = -5
    message = _error(plant_data)
    assert "plant.toml: profiles.hydraulic_press.signals.pressure.sampling_hz = -5" in message
    assert "greater than 0" in message


def test_unknown_key_is_refused(plant_data: dict[str, Any]) -> None:
    plant_data["machines"][2]["colour"] = "red"
    assert "machines[2].colour = 'red': unknown key" in _error(plant_data)


def test_missing_key(plant_data: dict[str, Any]) -> None:
    del plant_data["machines"][1]["line"]
    assert "machines[1].line: required key is missing" in _error(plant_data)


def test_reference_to_unknown_line_lists_allowed(plant_data: dict[str, Any]) -> None:
    plant_data["machines"][1]["line"] = "L9"
    assert "machines[1].line = 'L9': unknown line; allowed: L1, L2" in _error(plant_data)


def test_duplicate_ids(plant_data: dict[str, Any]) -> None:
    plant_data["machines"][1]["id"] = "P01"
    assert "machines[1].id = 'P01': duplicate id" in _error(plant_data)


def test_bad_identifier(plant_data: dict[str, Any]) -> None:
    plant_data["machines"][0]["id"] = "P 01/x"
    assert "machines[0].id = 'P 01/x': must be 1-64 letters" in _error(plant_data)


def test_bad_timezone_and_shift(plant_data: dict[str, Any]) -> None:
    data = copy.deepcopy(plant_data)
    data["site"]["timezone"] = "Mars/Olympus"
    data["shifts"][0]["start"] = "25:00"
    message = _error(data)
    assert "site.timezone = 'Mars/Olympus'" in message
    assert "shifts[0].start = '25:00'" in message


def test_min_above_max(plant_data: dict[str, Any]) -> None:
    plant_data["profiles"]["hydraulic_press"]["signals"]["oil_temp"]["min"] = 200
    assert "profiles.hydraulic_press.signals.oil_temp.min = 200.0: must be below max" in _error(plant_data)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the plant file"):
        load_plant(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[site\nid = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_plant(broken)


def test_the_plant_file_extends_and_relabels_the_reason_tree(plant_data: dict[str, Any]) -> None:
    plant_data["reasons"] = [
        {"code": "breakdown.die", "state": "down", "fr": "Casse poinçon", "en": "Punch broken"},
        {"code": "waiting.crane", "state": "idle", "fr": "Attente pont roulant", "en": "Waiting for crane"},
    ]
    plant = plant_from_mapping(plant_data)
    codes = [r.code for r in plant.reasons]
    assert codes[-1] == "waiting.crane" and codes.count("breakdown.die") == 1
    die = next(r for r in plant.reasons if r.code == "breakdown.die")
    assert (die.label_fr, die.state.value) == ("Casse poinçon", "down")
    assert (
        plant_from_mapping({k: v for k, v in plant_data.items() if k != "reasons"}).reasons == DEFAULT_REASONS
    )


def test_bad_reasons_are_reported(plant_data: dict[str, Any]) -> None:
    plant_data["reasons"] = [{"code": "Panne Presse", "state": "down", "fr": "x", "en": "x"}]
    assert "reasons[0].code = 'Panne Presse'" in _error(plant_data)
    plant_data["reasons"] = [{"code": "waiting.crane", "state": "running", "fr": "x", "en": "x"}]
    assert "reasons[0].state = 'running'" in _error(plant_data)
    twice = {"code": "waiting.crane", "state": "idle", "fr": "x", "en": "x"}
    plant_data["reasons"] = [twice, twice]
    assert "reasons[1].code = 'waiting.crane': already declared by reasons[0]" in _error(plant_data)
