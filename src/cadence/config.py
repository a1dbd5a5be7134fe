"""Settings: one typed declaration, built by :func:`load_settings`; nothing is read at import time.

Precedence: explicit arguments > environment (``CADENCE_…``, nested with ``__``) > the TOML settings file
> defaults. Every field is documented in docs/reference/settings.md (checked by a test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cadence.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
EXAMPLE_PLANT = PACKAGE_DIR / "examples" / "plant.toml"


class Settings(BaseSettings):
    """Everything an installation can tune. Units are in the field names."""

    model_config = SettingsConfigDict(
        env_prefix="CADENCE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(Path("var"), description="Directory holding the store and runtime files.")
    plant_file: Path = Field(EXAMPLE_PLANT, description="The plant description (TOML).")

    # MQTT ingest
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="MQTT broker port.")
    mqtt_username: str | None = Field(None, description="MQTT user name, if the broker requires one.")
    mqtt_password: SecretStr | None = Field(None, description="MQTT password (prefer the environment).")
    mqtt_client_id: str = Field("cadence-ingest", description="Client id of the ingest subscriber.")
    mqtt_qos: int = Field(1, ge=0, le=2, description="QoS of the ingest subscription.")
    mqtt_watch_broker: bool = Field(
        True, description="Watch the broker's $SYS drop counter and raise an alarm when it moves."
    )

    # HTTP
    http_host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port of the HTTP server (0 = any free port).")

    # Ingest limits
    ingest_max_payload_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest accepted message or HTTP body, in bytes."
    )
    ingest_max_points: int = Field(1_000_000, ge=1, description="Most samples accepted in one message.")
    ingest_queue_messages: int = Field(
        20_000, ge=100, description="Messages buffered between the MQTT network thread and the decoder."
    )

    # Store
    store_commit_interval_ms: float = Field(
        20.0, ge=0, description="Longest a batch waits for others to share its commit (group commit)."
    )
    store_max_backlog: int = Field(
        2_000, ge=10, description="Write tasks queued before senders are pushed back."
    )
    store_compact_after_s: float = Field(
        300.0,
        ge=0,
        description="Small sample chunks older than this are merged into larger, better-compressed ones.",
    )

    # Retention (days; 0 keeps for ever)
    retention_interval_s: float = Field(
        3600.0, ge=0, description="How often the retention policy is applied by serve and ingest (0 = never)."
    )
    # KPI rollups (docs/guides/kpis.md, "Rollups"); retention never deletes them.
    kpi_refresh_interval_s: float = Field(
        300.0,
        ge=0,
        description="How often serve and ingest roll up closed KPI hours and recompute those late data "
        "changed (0 = never: KPI queries then compute from raw data, slowly over long periods).",
    )
    # Live SPC (docs/guides/spc.md, "Live charts").
    spc_evaluate_interval_s: float = Field(
        60.0,
        ge=0,
        description="How often serve and ingest check the new strokes against the SPC limits in force and "
        "raise alarms on rule violations (0 = never).",
    )
    # Press health (docs/guides/press-health.md).
    health_evaluate_interval_s: float = Field(
        60.0,
        ge=0,
        description="How often serve and ingest feed the new strokes to each press's health monitor, record "
        "its hourly history and raise or clear health alerts (0 = never).",
    )
    health_learn_strokes: int = Field(
        750,
        ge=50,
        description="Strokes of one operating point (part and die) that learn its baseline before its "
        "strokes count towards the press's health (750: about three heats of material).",
    )
    health_calibration_strokes: int = Field(
        4000,
        ge=100,
        description="Healthy strokes over which the monitor measures how much each feature wanders by itself "
        "(lots of material, warm-ups, part changes) before it may raise alerts.",
    )
    health_alert_level: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Share of the way from the learned baseline to functional failure at which a subsystem "
        "alert is raised (it must also be well beyond the feature's usual wander).",
    )
    health_trip_temp_c: float = Field(
        70.0,
        gt=0,
        description="Oil over-temperature trip of the presses: the cooler's functional failure (°C).",
    )
    retention_raw_waveform_days: float = Field(7.0, ge=0, description="Raw fast (waveform) samples.")
    retention_raw_slow_days: float = Field(90.0, ge=0, description="Raw slow samples (temperatures, power).")
    retention_rollup_1m_days: float = Field(400.0, ge=0, description="1-minute rollups.")
    retention_rollup_1h_days: float = Field(0.0, ge=0, description="1-hour rollups.")
    retention_strokes_days: float = Field(15 * 366.0, ge=0, description="Stroke records (traceability).")
    retention_stroke_waveform_days: float = Field(400.0, ge=0, description="Down-sampled stroke curves.")
    retention_quarantine_days: float = Field(90.0, ge=0, description="Quarantined messages.")
    retention_ledger_days: float = Field(
        1.0,
        ge=0,
        description="Content digests of committed messages (to refuse a key reused with other content); "
        "older keys are kept as ranges of numbers, so replays are recognised for ever.",
    )

    # Authentication (docs/guides/users-and-roles.md)
    auth_session_idle_s: float = Field(
        30 * 60.0, ge=60, description="A session unused for this long ends (seconds)."
    )
    auth_session_absolute_s: float = Field(
        12 * 3600.0,
        ge=60,
        description="A session ends this long after login, used or not (seconds; a shift).",
    )
    auth_lockout_failures: int = Field(
        5, ge=1, description="Failed logins for one user name within the window that lock that name."
    )
    auth_lockout_address_failures: int = Field(
        20,
        ge=1,
        description="Failed logins from one client address within the window that lock that address "
        "(higher than per name: a shop-floor network often puts many people behind one address).",
    )
    auth_lockout_window_s: float = Field(
        15 * 60.0, ge=1, description="Window counting failed logins (seconds)."
    )
    auth_lockout_s: float = Field(
        15 * 60.0, ge=1, description="How long a locked name or address stays locked."
    )
    auth_cookie_secure: bool = Field(
        False,
        description="Mark the session cookie Secure (named __Host-…) and send HSTS; set it behind HTTPS.",
    )
    # Floors from OWASP/ASVS for argon2id (t=2 with m=19 MiB); docs/guides/users-and-roles.md.
    auth_argon2_time_cost: int = Field(3, ge=2, description="argon2id passes over memory (floor 2).")
    auth_argon2_memory_kib: int = Field(
        64 * 1024, ge=19 * 1024, description="argon2id memory per hash in KiB (floor 19456 = 19 MiB)."
    )
    auth_argon2_parallelism: int = Field(1, ge=1, le=16, description="argon2id lanes (threads) per hash.")

    # Energy and CO2 (docs/guides/roi.md). Default: the regulatory factor for mainland France (Arrêté du
    # 10 avril 2012, 0.053 kgCO2/kWh consumed), inside ADEME's "mix moyen – consommation" range of about
    # 50–60 g (docs/domain.md §5.2); set your own factor, with its source and year, for a GHG report.
    co2_grid_g_per_kwh: float = Field(
        53.0,
        ge=0,
        description="Carbon intensity of the electricity used, in gCO2e per kWh (CO2 per good part in the "
        "ROI view); default: mainland France, Arrêté du 10 avril 2012.",
    )
    co2_grid_source: str = Field(
        "Arrêté du 10 avril 2012, France continentale, électricité consommée",
        description="Where the CO2 factor comes from (source, scope and year), printed beside it.",
    )

    # Shift reports (docs/guides/shift-reports.md)
    reports_dir: Path | None = Field(
        None,
        description="Directory of the shift-report archive (PDF, CSV and index); default: data_dir/reports.",
    )
    reports_auto: bool = Field(
        True, description="Make each shift's report automatically when the shift ends (serve and demo)."
    )
    reports_grace_s: float = Field(
        300.0,
        ge=0,
        description="Wait this long after a shift ends before making its report, so that late data "
        "(gateway buffers, edge agents catching up) is in it (plant-clock seconds).",
    )
    reports_catchup_days: float = Field(
        7.0,
        gt=0,
        le=366,
        description="After downtime, the reports of missed shifts that ended at most this long ago are "
        "made; older ones only on demand (cadence report regenerate, the Reports page).",
    )
    reports_check_interval_s: float = Field(
        30.0, gt=0, description="How often the report scheduler looks for ended shifts (wall-clock seconds)."
    )
    reports_locale: Literal["fr", "en"] = Field("fr", description="Language of the automatic PDF reports.")
    reports_csv_separator: Literal[";", ","] = Field(
        ";",
        description="CSV separator of the automatic reports: ';' with decimal commas (French Excel) or ','.",
    )

    @property
    def store_path(self) -> Path:
        """The embedded store's database file."""
        return self.data_dir / "cadence.db"

    @property
    def reports_path(self) -> Path:
        """The shift-report archive: ``reports_dir``, else ``data_dir/reports``."""
        return self.reports_dir if self.reports_dir is not None else self.data_dir / "reports"

    @property
    def users_db_path(self) -> Path:
        """Users and sessions: a file of their own, so logins never queue behind the ingest writer's lock."""
        return self.data_dir / "users.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _TOML_FILE.get("path")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


_TOML_FILE: dict[str, Path | None] = {"path": None}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; raise :class:`ConfigError` naming the file, key, value and what is allowed."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: settings file not found", file=str(config_file))
    _TOML_FILE["path"] = config_file
    try:
        return Settings(**overrides)
    except ValidationError as err:
        where = str(config_file) if config_file else "settings"
        raise ConfigError(_describe(where, err), file=where) from err
    finally:
        _TOML_FILE["path"] = None


def _describe(where: str, err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        key = ".".join(str(p) for p in problem["loc"])
        lines.append(f"{where}: {key} = {problem.get('input')!r}: {problem['msg']}")
    return "\n".join(lines)


def settings_reference() -> str:
    """docs/reference/settings.md, generated from the declaration (a test keeps the file in sync)."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `cadence.config.Settings` (`cadence check-config --settings-reference`); a test",
        "keeps this file in sync. Set them in a TOML file passed with `--config` (or `CADENCE_CONFIG`), or",
        "as environment variables `CADENCE_<NAME>` (upper case). Precedence: command-line options >",
        "environment > settings file > defaults.",
        "",
        "| setting | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(PACKAGE_DIR.parent) if default.is_absolute() else default
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        kind = kind.replace("typing.", "").replace("pydantic.types.", "").replace(" | ", " or ")
        shown = "—" if default is None else f"`{default}`"
        lines.append(f"| `{name}` | {kind} | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
