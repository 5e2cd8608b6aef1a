"""The whole system on one machine: `python -m local demo` (see docs/local-pipeline.md)."""
