"""Checks of the settings against the Amazon Connect quotas in force (Service Quotas)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from outbound_caller.config.pacing_fields import DEFAULT_CALLS_BURST
from preflight.result import CheckResult, error_code, fail, ok, refused, warn
from preflight.target import Clients, Target

QUOTAS = "quotas"
# Service Quotas' code for Amazon Connect.
CONNECT_SERVICE_CODE = "connect"
# "Concurrent active calls per instance" (default 10, applied per instance: ContextId is the instance ARN).
CONCURRENT_ACTIVE_CALLS_QUOTA = "L-12AB7C57"
# "Rate of StartOutboundVoiceContact API requests" (default 2 per second, per account and Region).
START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA = "L-4E9BCC96"
# Service Quotas answers this when it has no applied value for a quota: the default is then the one in force.
NO_APPLIED_VALUE = "NoSuchResourceException"


def check_quotas(clients: Clients, target: Target) -> list[CheckResult]:
    """callsPerSecond, callsBurst and concurrentCallsLimit within the account's and the instance's quotas."""
    settings = target.settings
    try:
        rate = _quota_in_force(clients.service_quotas, START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA)
        concurrent = _quota_in_force(
            clients.service_quotas, CONCURRENT_ACTIVE_CALLS_QUOTA, context_id=target.instance_arn
        )
    except ClientError as error:
        return [refused(QUOTAS, error, "servicequotas:GetServiceQuota", "the Amazon Connect quotas")]
    results = [
        _at_most(
            "callsPerSecond",
            settings.calls_per_second,
            rate,
            "the StartOutboundVoiceContact rate quota",
            f"{START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA}, account {target.account}, Region {target.region}",
            "; every other caller of StartOutboundVoiceContact there shares it",
        ),
        _at_most(
            "concurrentCallsLimit",
            settings.concurrent_calls_limit,
            concurrent,
            "the instance's concurrent active calls quota",
            f"{CONCURRENT_ACTIVE_CALLS_QUOTA}, instance {settings.instance_id}",
            ""
            if concurrent <= settings.concurrent_calls_limit
            else "; raise concurrentCallsLimit to the quota unless agents' or inbound calls need the rest",
        ),
    ]
    # Service Quotas publishes no burst for the API: Connect documents a burst of 5 with the default rate.
    if settings.calls_burst > DEFAULT_CALLS_BURST:
        results.append(
            warn(
                QUOTAS,
                f"callsBurst {settings.calls_burst:g} is above Connect's documented burst of {DEFAULT_CALLS_BURST:g}"
                " for StartOutboundVoiceContact, which Service Quotas does not show: confirm a raised burst with"
                " AWS Support, or calls beyond it are throttled and deferred",
            )
        )
    return results


def _at_most(key: str, setting: float, quota: float, quota_name: str, detail: str, note: str) -> CheckResult:
    if setting > quota:
        return fail(
            QUOTAS,
            f"{key} {setting:g} exceeds {quota_name} of {quota:g} ({detail}): lower {key}, or request an increase"
            " in Service Quotas → Amazon Connect and run preflight again once it is applied",
        )
    return ok(QUOTAS, f"{key} {setting:g} is within {quota_name} of {quota:g} ({detail}){note}")


def _quota_in_force(service_quotas: Any, quota_code: str, *, context_id: str | None = None) -> float:
    """The applied value of a Connect quota (for one resource when context_id is given), else its default."""
    scope = {"ContextId": context_id} if context_id is not None else {}
    try:
        answer = service_quotas.get_service_quota(ServiceCode=CONNECT_SERVICE_CODE, QuotaCode=quota_code, **scope)
    except ClientError as error:
        if error_code(error) != NO_APPLIED_VALUE:
            raise
        answer = service_quotas.get_aws_default_service_quota(ServiceCode=CONNECT_SERVICE_CODE, QuotaCode=quota_code)
    return float(answer["Quota"]["Value"])
