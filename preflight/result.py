"""What one check found: a status and a message naming the resource and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import ClientError

from outbound_caller.privacy import redact_phone_numbers


class Status(StrEnum):
    """How a check ended; only FAIL makes the run fail."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One finding of one check."""

    check: str
    status: Status
    message: str


def ok(check: str, message: str) -> CheckResult:
    """A check that passed."""
    return CheckResult(check, Status.OK, message)


def warn(check: str, message: str) -> CheckResult:
    """A finding that does not stop calls but deserves a look."""
    return CheckResult(check, Status.WARN, message)


def fail(check: str, message: str) -> CheckResult:
    """A finding that would make calls fail."""
    return CheckResult(check, Status.FAIL, message)


def skip(check: str, message: str) -> CheckResult:
    """A check that could not run yet, with the reason."""
    return CheckResult(check, Status.SKIP, message)


ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def refused(check: str, error: ClientError, action: str, subject: str) -> CheckResult:
    """A failure for an AWS call the check could not make, naming the action and, when denied, the permission."""
    code = error_code(error)
    if code in ACCESS_DENIED_CODES:
        return fail(
            check,
            f"cannot check {subject}: your credentials may not call {action}; run preflight as an operator who may",
        )
    message = redact_phone_numbers(str(error.response.get("Error", {}).get("Message", "")))
    return fail(check, f"{action} on {subject} failed: {code}: {message}")
