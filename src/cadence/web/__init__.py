"""The HTTP face of Cadence: health, the JSON API and the HTTP batch ingest endpoint (pages come next)."""
