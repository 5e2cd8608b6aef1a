"""What synth says about settings that are valid but decide something the operator may not have meant: who can be
called, who can make it dial or publish, and settings that ask for nothing to happen.

Warnings, not infos: the CDK CLI prints no info annotations.
"""

from __future__ import annotations

from aws_cdk import Annotations, Stack

from infra.settings import PLACEHOLDER_INSTANCE_ID, DeploymentSettings

# The prefix of every warning's ID (`cdk synth` prints it with each warning).
WARNING_PREFIX = "connect-outbound-caller"


def warnings_for(settings: DeploymentSettings) -> dict[str, str]:
    """Each warning these settings call for, by its ID (without the prefix)."""
    warnings: dict[str, str] = {}
    if settings.destination_countries_defaulted:
        warnings["default-destination-countries"] = (
            "allowedDestinationCountries is not set: calls may only go to"
            f" {', '.join(settings.destination_countries or ())}, the country of sourcePhoneNumber. Set it to the"
            ' region codes calls may go to, or "*" for any country'
        )
    if settings.event_bus_name is not None:
        warnings["shared-bus"] = (
            f"eventBusName={settings.event_bus_name!r} is a shared bus: a source is text any sender chooses, so"
            " eventSources filters events but does not decide who can make it dial; the bus's policy and its users'"
            " IAM policies do (grant events:PutEvents with the events:source condition key per producer). Unset"
            " eventBusName for a bus of the stack's own that admits only named producers"
        )
    if settings.result_events and settings.result_event_bus_name is not None:
        warnings["result-bus-not-owned"] = (
            f"resultEventBusName={settings.result_event_bus_name!r} is a bus the stack does not own: only its owner can"
            " restrict who publishes on it, so any principal its policy and IAM allow events:PutEvents can put events"
            " with source connect-outbound-caller there, and consumers cannot tell them from the stack's. Unset"
            " resultEventBusName for a bus of the stack's own, which only the stack's functions may publish to, or"
            " have the bus's owner deny events:PutEvents to everyone else"
        )
    if settings.instance_id == PLACEHOLDER_INSTANCE_ID:
        warnings["placeholder-settings"] = (
            "connectInstanceId is the placeholder from cdk.json: set your Connect instance's values (docs/deploy.md)"
            " before deploying, or no call will be placed"
        )
    if not settings.suppression_list:
        warnings["no-suppression-list"] = (
            "suppressionList is false: there is no do-not-call list and no opt-out function, so a number that asked"
            " not to be called again is called like any other. Set it to true unless another system keeps such"
            " numbers out of the requests"
        )
    warnings |= _redial_warnings(settings)
    return warnings


def _redial_warnings(settings: DeploymentSettings) -> dict[str, str]:
    """A redial policy that cannot redial, or whose last attempts fall past the deferral bound."""
    if bool(settings.redial_on) != (settings.redial_max_attempts > 1):
        return {
            "no-redial": f"redialOn={list(settings.redial_on)} and redialMaxAttempts={settings.redial_max_attempts}:"
            " no call is ever redialled. Redial needs both outcomes to redial on and more than one attempt"
        }
    span = (settings.redial_max_attempts - 1) * settings.redial_interval_seconds
    if settings.redials and span > settings.max_deferral_seconds:
        return {
            "redial-past-deferral-bound": f"redialMaxAttempts={settings.redial_max_attempts} attempts"
            f" {settings.redial_interval_seconds} s apart take at least {span} s, more than maxDeferralSeconds"
            f" ({settings.max_deferral_seconds}): a request without a later ExpiresAt gets fewer attempts. Raise"
            " maxDeferralSeconds, or lower the attempts or their interval"
        }
    return {}


def warn_about(stack: Stack, settings: DeploymentSettings) -> None:
    """Add each warning these settings call for to the stack."""
    for warning_id, message in warnings_for(settings).items():
        Annotations.of(stack).add_warning_v2(f"{WARNING_PREFIX}:{warning_id}", message)
