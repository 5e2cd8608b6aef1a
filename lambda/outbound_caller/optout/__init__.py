"""Opt-out and opt-in: numbers join or leave the suppression list, and each change is announced."""
