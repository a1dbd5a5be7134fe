"""Pure analytics on Cadence's domain values: no I/O, no clock (part of the pure core)."""
