"""What is wrong with a request, told without quoting it: its validation errors as 'location: message'."""

from __future__ import annotations

from pydantic import ValidationError

# Pydantic locations under these members name a producer's own keys: shown as <key>, never as sent.
_FREE_TEXT_KEYED_MEMBERS = frozenset({"Attributes", "References"})


def _location(parts: tuple[int | str, ...]) -> str:
    """A pydantic error location with the producer's attribute and reference keys masked."""
    shown: list[str] = []
    for index, part in enumerate(parts):
        keyed = index > 0 and parts[index - 1] in _FREE_TEXT_KEYED_MEMBERS
        shown.append("<key>" if keyed and part != "[key]" else str(part))
    return ".".join(shown)


def validation_problems(error: ValidationError) -> list[str]:
    """Each problem as 'location: message', never quoting the input or a producer's keys (personal data)."""
    problems = []
    for detail in error.errors(include_input=False, include_url=False, include_context=False):
        location = _location(detail["loc"])
        problems.append(f"{location}: {detail['msg']}" if location else detail["msg"])
    return problems


def describe_validation_error(error: ValidationError) -> str:
    """Every problem of a validation error on one line, separated by semicolons."""
    return "; ".join(validation_problems(error))
