"""``cadence rul``: fit a remaining-useful-life model on C-MAPSS run-to-failure files, predict test units.

scikit-learn is imported only inside ``fit`` (it runs in the command's own process); ``predict`` reads the
model file with numpy alone (:mod:`cadence.analytics.rul_model`).
"""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cadence.errors import BadRequest, ModelInvalid

RUL_EPILOG = (
    "Examples (NASA C-MAPSS FD001; a 3-engine extract is in tests/fixtures/cmapss):\n\n"
    "cadence rul fit train_FD001.csv --model fd001.rulmodel\n\n"
    "cadence rul predict test_FD001.csv --model fd001.rulmodel --out pred.csv --truth RUL_FD001.txt\n\n"
    "Files: NASA's space-separated text (train_FD001.txt) or the CSV with the 26-column header. "
    "Guide: docs/guides/rul.md."
)

rul_app = typer.Typer(
    help="Remaining useful life of run-to-failure units (C-MAPSS format): fit a model, predict.",
    epilog=RUL_EPILOG,
    no_args_is_help=True,
)

# = cadence.analytics.cmapss.PIECEWISE_RUL_CAP, written out so that `cadence --help` does not import numpy
# (tests/integration/test_rul_cli.py checks they agree).
DEFAULT_CAP = 125.0
MAX_MODEL_BYTES = 500 * 1024 * 1024  # far above a default model (a few MB): anything bigger is not one


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")


@rul_app.command(
    epilog="Example: cadence rul fit train_FD001.csv --model fd001.rulmodel --seeds 3 --seed 0\n\n"
    "Fitting the defaults on FD001 (20,631 rows) takes about 5 CPU minutes; --seeds 1 a third of that."
)
def fit(
    train: Annotated[Path, typer.Argument(help="Training trajectories, every unit run to failure.")],
    model: Annotated[
        Path, typer.Option("--model", "-m", help="Model file to write (cadence.rul-model/1, NPZ).")
    ],
    cap: Annotated[
        float, typer.Option("--cap", help="Cap of the training RUL target, cycles (piecewise-linear).")
    ] = DEFAULT_CAP,
    window: Annotated[
        int, typer.Option("--window", help="Trailing window of the mean and slope, cycles.")
    ] = 30,
    seeds: Annotated[
        int, typer.Option("--seeds", help="Fits of each component with different random states, averaged.")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same model file.")] = 0,
    components: Annotated[
        str, typer.Option("--components", help="Comma-separated among gbr, et, mlp.")
    ] = "gbr,et,mlp",
) -> None:
    """Fit a RUL model on run-to-failure trajectories and save it (no pickle: numbers only)."""
    import numpy as np

    from cadence.analytics.rul_model import component_names, dump_model
    from cadence.evaluation.cmapss_files import SENSOR_COLUMNS, read_trajectories
    from cadence.learning.rul import FitOptions, fit_rul

    try:
        options = FitOptions(
            cap=cap,
            window=window,
            seeds=seeds,
            components=tuple(c.strip() for c in components.split(",") if c.strip()),
            extra_info={"trained_on": train.name, "seed": seed},
        )
    except ValueError as err:
        raise BadRequest(f"invalid option: {err}") from None
    data = read_trajectories(train)
    cpu0 = time.process_time()
    fitted = fit_rul(
        data.units,
        data.cycles,
        data.sensors,
        SENSOR_COLUMNS,
        options=options,
        rng=np.random.default_rng(seed),
    )
    cpu = time.process_time() - cpu0
    blob = dump_model(fitted)
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(blob)
    _echo(
        f"fitted on {len(data):,} rows of {data.unit_ids.size} units in {cpu:.1f} CPU s: "
        f"{', '.join(component_names(fitted))}; sensors {', '.join(fitted.spec.sensors)}"
    )
    _echo(f"wrote {model} ({len(blob):,} bytes)")


def read_model_file(path: Path) -> bytes:
    """The bytes of a model file, with the file named in any error."""
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelInvalid(f"{path}: {size:,} bytes, too large for a RUL model", file=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelInvalid(f"{path}: no such model file", file=str(path)) from None
    except IsADirectoryError:
        raise ModelInvalid(f"{path}: is a directory, not a model file", file=str(path)) from None
    except OSError as err:
        raise ModelInvalid(f"{path}: cannot be read ({err.strerror})", file=str(path)) from None


@rul_app.command(
    epilog="Example: cadence rul predict test_FD001.csv --model fd001.rulmodel --out pred.csv "
    "--truth RUL_FD001.txt\n\nOutput: CSV with columns unit,rul (cycles left after each unit's last row)."
)
def predict(
    test: Annotated[Path, typer.Argument(help="Trajectories to predict (e.g. test_FD001.csv).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Model file written by `cadence rul fit`.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV to write (unit,rul); default: standard output.")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="True RUL file (one per line, unit k on line k): print RMSE and PHM08."),
    ] = None,
) -> None:
    """RUL of every unit after its last row, from a saved model (numpy only)."""
    from cadence.analytics.cmapss import phm08_score, rmse
    from cadence.analytics.rul_model import load_model
    from cadence.evaluation.cmapss_files import pair_with_truth, read_rul, read_trajectories

    loaded = load_model(read_model_file(model), str(model))
    data = read_trajectories(test)
    units, rul = loaded.predict_last(data.units, data.cycles, data.sensors)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["unit", "rul"])
    writer.writerows([int(u), f"{r:.2f}"] for u, r in zip(units, rul, strict=True))
    if out is None:
        sys.stdout.write(buffer.getvalue())
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(buffer.getvalue(), encoding="utf-8")
        _echo(f"wrote {out} ({units.size} units)")
    if truth is not None:
        true = pair_with_truth(data, read_rul(truth), truth)
        stream = sys.stdout if out is not None else sys.stderr
        stream.write(
            f"RMSE {rmse(rul, true):.2f}  PHM08 {phm08_score(rul, true):.1f}  ({units.size} units)\n"
        )
