"""Storage backends for samples, strokes, states, alarms and quarantined messages.

Each backend implements :class:`cadence.ports.TimeSeriesStore` and registers in the ``cadence.stores``
entry-point group (:mod:`cadence.plugins`). :mod:`cadence.store.codecs` holds the sample chunk codec they
share.
"""
