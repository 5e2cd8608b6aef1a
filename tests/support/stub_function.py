"""Where the stub functions the local runtime's tests run live (tests/local/stub_function), and their handlers."""

from __future__ import annotations

from pathlib import Path

STUB_CODE_ROOT = Path(__file__).resolve().parent.parent / "local" / "stub_function"
STUB_HANDLER = "stub_handler.handler"
