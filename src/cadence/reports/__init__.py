"""End-of-shift reports: the figures of a shift per press and per line (:mod:`.shift`), rendered as a
PDF (:mod:`.pdf`) and a CSV (:mod:`.csv`). Documented in docs/guides/shift-reports.md.

Failures the user can fix (no shift calendar in the plant file, fonts not installed) raise
:class:`cadence.errors.ConfigError`, so the CLI prints one clear message instead of a traceback.
"""
