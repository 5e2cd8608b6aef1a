"""Operators' commands: the suppression list, and pausing and resuming the caller."""
