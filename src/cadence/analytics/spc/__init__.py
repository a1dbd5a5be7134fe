"""Statistical process control, pure (numpy): one chart per module, run rules, capability.

See :mod:`cadence.analytics.spc.base` for what the charts share; docs/guides/spc.md for the method.
"""
