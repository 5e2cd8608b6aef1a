"""Calling safety: which destinations may be dialled, at which hours, and how often."""
