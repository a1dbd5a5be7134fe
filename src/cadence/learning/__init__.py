"""Model fitting that needs scipy or scikit-learn: run only in the worker process and in CLI commands.

Importing scipy and scikit-learn costs 100-190 MB of memory each, so the web, ingest and store processes
never import this package (an import-linter contract in pyproject.toml checks it); they ask the worker
(:mod:`cadence.services.learning`) instead. What a fit produces is plain numbers that the pure core
evaluates with numpy alone.
"""
