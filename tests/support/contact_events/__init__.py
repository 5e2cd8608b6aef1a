"""Recorded contact events (see README.md in this folder for their source)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
ANSWERED = "answered"
UNANSWERED = "unanswered"
CONNECTED_TO_AGENT = "connected_to_agent"


def contact_event(name: str, **detail_changes: Any) -> dict[str, Any]:
    """A fresh copy of the named sample, with `detail` fields replaced (None removes one)."""
    event: dict[str, Any] = copy.deepcopy(json.loads((_HERE / f"{name}.json").read_text(encoding="utf-8")))
    for key, value in detail_changes.items():
        if value is None:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event
