"""How the local pipeline's command line reads its arguments: bounded numbers, the start of an E.164 number, `cdk -c`'s
KEY=VALUE, with help that shows only the defaults worth showing.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.connect_rules import E164_PATTERN


def bounded_number(
    kind: Callable[[str], Any], minimum: float, maximum: float = math.inf, inclusive_min: bool = True
) -> Any:
    """An argparse type: a finite number of `kind` within [minimum, maximum] (or above minimum when exclusive)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        too_low = value < minimum if inclusive_min else value <= minimum
        if too_low or value > maximum:
            low = f">= {minimum:g}" if inclusive_min else f"> {minimum:g}"
            bound = low if maximum == math.inf else f"between {minimum:g} and {maximum:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


def e164_prefix(text: str) -> str:
    """An argparse type: the start of an E.164 number, e.g. +4420794609."""
    if not E164_PATTERN.match(text + "0" * max(0, 2 - len(text))) or len(text) < 2:
        raise argparse.ArgumentTypeError(f"must be the start of an E.164 number such as +4420794609, got {text!r}")
    return text


def context_pair(text: str) -> tuple[str, Any]:
    """An argparse type: KEY=VALUE as `cdk -c` takes it; JSON values are decoded, anything else stays a string."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only when there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, [], False) or isinstance(action.default, Path):
            return action.help
        return super()._get_help_string(action)
