"""Checks of the caller ID: the configured numbers are claimed by the instance, the queues have an outbound number."""

from __future__ import annotations

from botocore.exceptions import ClientError

from outbound_caller.privacy import mask_phone_number
from preflight.instance import NOT_FOUND
from preflight.result import CheckResult, error_code, fail, ok, refused, warn
from preflight.target import Clients, Target

CALLER_ID = "caller-id"


def check_caller_id(clients: Clients, target: Target) -> list[CheckResult]:
    """Every configured caller ID number is claimed by the instance; every configured queue exists and has one."""
    settings = target.settings
    numbers = {}
    if settings.source_phone_number is not None:
        numbers[settings.source_phone_number] = "sourcePhoneNumber"
    numbers |= {n: "allowedSourcePhoneNumbers" for n in settings.allowed_source_phone_numbers if n not in numbers}
    queues = {settings.queue_id: "connectQueueId"} if settings.queue_id is not None else {}
    queues |= {queue: "allowedQueueIds" for queue in settings.allowed_queue_ids if queue not in queues}
    results = _check_numbers(clients, target, numbers) if numbers else []
    return results + [_check_queue(clients, target, queue, key) for queue, key in queues.items()]


def _check_numbers(clients: Clients, target: Target, numbers: dict[str, str]) -> list[CheckResult]:
    instance = f"instance {target.settings.instance_id}"
    try:
        pages = clients.connect.get_paginator("list_phone_numbers_v2").paginate(TargetArn=target.instance_arn)
        claimed = {summary["PhoneNumber"] for page in pages for summary in page.get("ListPhoneNumbersSummaryList", [])}
    except ClientError as error:
        return [refused(CALLER_ID, error, "connect:ListPhoneNumbersV2", f"the phone numbers of {instance}")]
    results = []
    for number, key in numbers.items():
        shown = mask_phone_number(number)
        if number in claimed:
            results.append(ok(CALLER_ID, f"caller ID {shown} ({key}) is claimed by {instance}"))
        else:
            results.append(
                fail(
                    CALLER_ID,
                    f"caller ID {shown} ({key}) is not claimed by {instance}: claim it to the instance (Channels →"
                    f" Phone numbers) or correct {key}: Connect only dials from numbers claimed by the instance",
                )
            )
    return results


def _check_queue(clients: Clients, target: Target, queue_id: str, key: str) -> CheckResult:
    settings = target.settings
    subject = f"queue {queue_id} ({key})"
    try:
        queue = clients.connect.describe_queue(InstanceId=settings.instance_id, QueueId=queue_id)["Queue"]
    except ClientError as error:
        if error_code(error) == NOT_FOUND:
            return fail(
                CALLER_ID,
                f"{subject} not found in instance {settings.instance_id}: check {key}"
                " (aws connect list-queues --queue-types STANDARD)",
            )
        return refused(CALLER_ID, error, "connect:DescribeQueue", subject)
    name = f"{subject} '{queue['Name']}'" if queue.get("Name") else subject
    if queue.get("OutboundCallerConfig", {}).get("OutboundCallerIdNumberId"):
        return ok(CALLER_ID, f"{name} has an outbound caller ID number")
    if settings.source_phone_number is not None:
        return ok(CALLER_ID, f"{name} has no outbound caller ID number; calls show sourcePhoneNumber")
    remedy = "set the queue's Outbound caller ID number (Routing → Queues), or set sourcePhoneNumber"
    if key == "connectQueueId":
        return fail(CALLER_ID, f"{name} has no outbound caller ID number and sourcePhoneNumber is not set: {remedy}")
    return warn(
        CALLER_ID,
        f"{name} has no outbound caller ID number: a request naming it without a SourcePhoneNumber would have no"
        f" caller ID; {remedy}",
    )
