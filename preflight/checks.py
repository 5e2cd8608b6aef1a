"""The checks preflight runs, in order, and how a failed instance check spares the ones that need the instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError

from preflight.caller_id import CALLER_ID, check_caller_id
from preflight.instance import FLOWS, INSTANCE, check_flows, check_instance
from preflight.permission import PERMISSION, check_permission
from preflight.quotas import QUOTAS, check_quotas
from preflight.result import CheckResult, Status, fail, skip
from preflight.target import Clients, Target


@dataclass(frozen=True)
class Check:
    """One check: its name, what it verifies (shown by --help), and whether it needs the instance to exist."""

    name: str
    description: str
    run: Callable[[Clients, Target], list[CheckResult]]
    needs_instance: bool = False


CHECKS: tuple[Check, ...] = (
    Check(INSTANCE, "the Connect instance exists here, is ACTIVE and has outbound calls enabled", check_instance),
    Check(
        FLOWS,
        "connectContactFlowId and allowedContactFlowIds exist, are contact flows, active and published",
        check_flows,
        needs_instance=True,
    ),
    Check(
        CALLER_ID,
        "sourcePhoneNumber (and allowedSourcePhoneNumbers) are claimed by the instance; connectQueueId (and"
        " allowedQueueIds) exist and have an outbound caller ID number when no sourcePhoneNumber is set",
        check_caller_id,
        needs_instance=True,
    ),
    Check(
        QUOTAS,
        "callsPerSecond, callsBurst and concurrentCallsLimit are within the Amazon Connect quotas in force"
        " (Service Quotas)",
        check_quotas,
        needs_instance=True,  # one quota is the instance's own: asked about a missing instance, it would only confuse
    ),
    Check(
        PERMISSION,
        "the deployed function's role may call connect:StartOutboundVoiceContact on the instance's contacts (IAM"
        " policy simulator); skipped until the stack is deployed",
        check_permission,
    ),
)


def run_checks(clients: Clients, target: Target, checks: tuple[Check, ...] = CHECKS) -> list[CheckResult]:
    """Every check's results, in order; checks that need the instance are skipped when it failed."""
    results: list[CheckResult] = []
    instance_failed = False
    for check in checks:
        if check.needs_instance and instance_failed:
            results.append(skip(check.name, f"skipped: the {INSTANCE} check failed"))
            continue
        try:
            found = check.run(clients, target)
        except BotoCoreError as error:  # AWS unreachable, a timeout: one check's failure, not a traceback
            found = [fail(check.name, f"could not ask AWS: {error}")]
        if check.name == INSTANCE:
            instance_failed = any(result.status is Status.FAIL for result in found)
        results.extend(found)
    return results
