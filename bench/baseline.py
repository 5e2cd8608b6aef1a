"""The two functions each load runs: ours, and the naive baseline (bench/functions/naive_handler.py).

Both run through the same local pipeline (moto's queues with SQS's native redrive, the local event source, the
local Connect), with the same event source settings; only the code root and handler differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from local.function_container import DEFAULT_CODE_ROOT, DEFAULT_HANDLER

# The benchmark's own functions: the naive baseline, and the minimal handler our per-record cost is set against.
FUNCTIONS_CODE_ROOT = Path(__file__).resolve().parent / "functions"
NAIVE_HANDLER = "naive_handler.handler"
MINIMAL_HANDLER = "minimal_handler.handler"


@dataclass(frozen=True)
class Side:
    """One function under test: where its code is and its handler."""

    name: str  # the key in results.json
    title: str  # how the summary and the chart name it
    handler: str
    code_root: Path

    @property
    def module(self) -> str:
        """The handler's module, as Lambda imports it at init."""
        return self.handler.rsplit(".", 1)[0]


OURS = Side("ours", "connect-outbound-caller", DEFAULT_HANDLER, DEFAULT_CODE_ROOT)
NAIVE = Side("naive", "naive loop (public samples)", NAIVE_HANDLER, FUNCTIONS_CODE_ROOT)
MINIMAL = Side("minimal", "minimal Powertools handler", MINIMAL_HANDLER, FUNCTIONS_CODE_ROOT)
SIDES = (OURS, NAIVE)
