"""The NAB scorer and reader on the whole NAB v1.1 folder, against every published table.

The folder is not part of the repository. It is found by ``conftest.dataset_path("nab")`` (``NAB_DIR``,
``DATASETS_DIR/nab`` or the workspace's shared copy next to the repository); without it the tests skip.
"""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics import nab
from cadence.evaluation import nab_corpus
from conftest import dataset_dir, dataset_path

NAB_DIR, _ = dataset_path("nab")


@pytest.fixture(scope="module", autouse=True)
def _nab_present() -> None:
    """Skip with the reason when the dataset is absent; fail when NAB_DIR or DATASETS_DIR names a wrong
    folder (conftest.dataset_dir). Module-scoped so that it runs before the module's ``layout``."""
    dataset_dir("nab", "labels/combined_windows.json")


PROFILE_NAMES = list(nab.PROFILES)
# Detectors with complete per-file tables (the `random` tables cover 32 of 58 files).
DETECTORS = (
    sorted(p.name for p in (NAB_DIR / "results").iterdir() if p.is_dir() and p.name != "random")
    if (NAB_DIR / "results").is_dir()
    else []
)
# The one series whose published windows differ from those rebuilt from today's labels file.
WINDOWS_NOT_FROM_LABELS = {"realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv"}


@pytest.fixture(scope="module")
def layout() -> list[nab.CorpusFile]:
    """All 58 series with their published windows; scores all 0 (a detector that never fires)."""
    files = []
    for name in nab_corpus.series_names(NAB_DIR):
        stamps = nab_corpus.read_timestamps(NAB_DIR, name)
        files.append(
            nab.CorpusFile(name, np.zeros(len(stamps)), nab_corpus.read_windows(NAB_DIR, name, stamps))
        )
    return files


def test_corpus_shape(layout: list[nab.CorpusFile]) -> None:
    assert len(layout) == 58
    assert sum(f.n_rows for f in layout) == 365_558
    assert sum(len(f.windows) for f in layout) == 116


def test_windows_rebuilt_from_labels(layout: list[nab.CorpusFile]) -> None:
    differ = set()
    for f in layout:
        stamps = nab_corpus.read_timestamps(NAB_DIR, f.name)
        if nab_corpus.read_windows(NAB_DIR, f.name, stamps, from_labels=True) != f.windows:
            differ.add(f.name)
    assert differ == WINDOWS_NOT_FROM_LABELS


@pytest.mark.parametrize("detector", DETECTORS)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_window_and_probation_rows_match_every_published_table(
    layout: list[nab.CorpusFile], detector: str, profile: str
) -> None:
    """TP + FN is the count of scored window rows, TN + FP the rest, for every file of every table."""
    table = nab_corpus.read_score_table(NAB_DIR, detector, profile)
    for f in layout:
        null = nab.score_file(f, nab.PROFILES[profile], nab.NO_DETECTION_THRESHOLD)
        row = table[f.name]
        assert (row.tp + row.fn, row.tn + row.fp) == (null.fn, null.tn), (detector, f.name)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_null_detector_table_is_reproduced(layout: list[nab.CorpusFile], profile: str) -> None:
    table = nab_corpus.read_score_table(NAB_DIR, "null", profile)
    p = nab.PROFILES[profile]
    for f in layout:
        result = nab.score_file(f, p, table[f.name].threshold)
        assert result.score == pytest.approx(table[f.name].score, abs=1e-9), f.name
    assert nab.null_score(layout, p) == table["Totals"].score


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_numenta_outputs_reproduce_the_published_rows(profile: str) -> None:
    corpus = nab_corpus.load_corpus(NAB_DIR, "numenta")
    assert len(corpus) == 7
    table = nab_corpus.read_score_table(NAB_DIR, "numenta", profile)
    for f in corpus:
        row = table[f.name]
        result = nab.score_file(f, nab.PROFILES[profile], row.threshold)
        assert result.score == pytest.approx(row.score, abs=1e-9), f.name
        assert (result.tp, result.tn, result.fp, result.fn) == (row.tp, row.tn, row.fp, row.fn), f.name


def test_final_results_follow_from_the_totals(layout: list[nab.CorpusFile]) -> None:
    final = nab_corpus.read_final_results(NAB_DIR)
    checked = 0
    for detector, scores in final.items():
        if detector not in DETECTORS:
            continue  # `random`: its tables come from another run
        for profile, published in scores.items():
            p = nab.PROFILES[profile]
            raw = nab_corpus.read_score_table(NAB_DIR, detector, profile)["Totals"].score
            value = nab.normalise(raw, nab.null_score(layout, p), nab.perfect_score(layout, p))
            assert value == pytest.approx(published, abs=1e-6), (detector, profile)
            checked += 1
    assert checked == 14 * 3
