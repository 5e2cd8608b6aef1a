"""The `send` command: check a call request as the function will, then send it to the queue or a bus.

Exit codes (producer/checks.py): 0 sent (or, with --dry-run, would be sent); 2 bad arguments; 3 unreadable file;
4 invalid JSON; 5 invalid request; 6 destination refused by calling safety; 7 the function's settings unavailable;
8 the send failed (AWS error); 9 EventBridge did not accept the event.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.cli_clients import AwsClients, aws_error
from outbound_caller.config.settings import Settings
from outbound_caller.privacy import mask_token
from outbound_caller.producer.checks import (
    EXIT_EVENT_NOT_ACCEPTED,
    EXIT_SEND_FAILED,
    EXIT_SETTINGS_UNAVAILABLE,
    TOKEN_GENERATED,
    ProducerError,
    check_calling_safety,
    has_function_settings,
    model_only_settings,
    parse_settings,
    read_request,
    timing_notes,
    validate,
    with_client_token,
)
from outbound_caller.producer.sending import (
    DEFAULT_DETAIL_TYPE,
    DEFAULT_EVENT_SOURCE,
    EventNotAcceptedError,
    Target,
    message_body,
    send,
    shown_request,
)

PROGRAM = "python -m outbound_caller.cli"


def add_send_command(commands: Any, aws_options: argparse.ArgumentParser) -> None:
    """The `send` command's arguments."""
    sender = commands.add_parser(
        "send",
        parents=[aws_options],
        help="validate a call request and send it",
        description="Validate a call request with the function's model and settings, then send it. "
        "Prints the ClientToken it carries as 'ClientToken: <token>'.",
    )
    sender.add_argument("request", help="the request: a JSON file, '-' for stdin, or inline JSON ('{...}')")
    target = sender.add_mutually_exclusive_group(required=True)
    target.add_argument("--queue-url", help="send to this SQS queue (the stack's QueueUrl output)")
    target.add_argument("--event-bus", help="put an event on this bus, name or ARN (the stack's EventBusName output)")
    sender.add_argument(
        "--source",
        default=DEFAULT_EVENT_SOURCE,
        help=f"the event's source; the stack's rule forwards only sources listed in eventSources "
        f"(default {DEFAULT_EVENT_SOURCE})",
    )
    sender.add_argument("--detail-type", default=DEFAULT_DETAIL_TYPE, help=f"default {DEFAULT_DETAIL_TYPE!r}")
    sender.add_argument(
        "--function-name",
        help="validate with this deployed function's settings (lambda:GetFunctionConfiguration); "
        "else with the function's variables in this environment, if set; else with the model alone",
    )
    sender.add_argument("--client-token", help="the ClientToken to send (else the request's own, else a new UUID)")
    sender.add_argument("--dry-run", action="store_true", help="validate and show what would be sent; send nothing")
    sender.add_argument("--json", action="store_true", help="one JSON object on stdout instead of text")


def _settings(
    args: argparse.Namespace, document: Mapping[str, Any], clients: AwsClients, environ: Mapping[str, str]
) -> tuple[Settings, str | None]:
    """The settings to validate with, and where they came from (None: the model alone)."""
    if args.function_name:
        try:
            answer = clients.client("lambda").get_function_configuration(FunctionName=args.function_name)
        except (ClientError, BotoCoreError) as error:
            message = f"cannot read the settings of function {args.function_name}: {aws_error(error)}"
            raise ProducerError(message, EXIT_SETTINGS_UNAVAILABLE) from None
        variables = answer.get("Environment", {}).get("Variables", {})
        where = f"function {args.function_name}"
        return parse_settings(variables, where), where
    if has_function_settings(environ):
        return parse_settings(environ, "this environment"), "this environment"
    return model_only_settings(document), None


def _send(
    args: argparse.Namespace, target: Target, stdin: TextIO, environ: Mapping[str, str], clients: AwsClients
) -> dict[str, Any]:
    """Check the request and send it to the target (unless a dry run); what happened, for the output."""
    document, token, token_origin = with_client_token(read_request(args.request, stdin), args.client_token)
    settings, settings_from = _settings(args, document, clients, environ)
    request = validate(document, settings)
    now = datetime.now(UTC)
    notes = check_calling_safety(request, settings, now) if settings_from is not None else []
    notes += timing_notes(request, now)
    if settings_from is None:
        notes.insert(
            0,
            "no function settings (--function-name, or the function's variables in this environment): "
            "checked against the model alone, not the deployment's allow-lists or calling safety",
        )
    if token_origin == TOKEN_GENERATED:
        notes.append("the request had no ClientToken: a new one was added to it, so every redelivery carries it")
    outcome: dict[str, Any] = {
        "dryRun": args.dry_run,
        "target": target.as_json(),
        "clientToken": token,
        # The request carries its token in its body, so result events and logs name it masked, like this.
        "resultEventsClientToken": mask_token(token),
        "clientTokenOrigin": token_origin,
        "settings": settings_from or "model only",
        "request": shown_request(document),
        "notes": notes,
    }
    if args.dry_run:
        return outcome
    try:
        outcome["messageId" if args.queue_url else "eventId"] = send(clients, target, message_body(document))
    except EventNotAcceptedError as error:
        raise ProducerError(f"EventBridge did not accept the event: {error}", EXIT_EVENT_NOT_ACCEPTED) from None
    except (ClientError, BotoCoreError) as error:
        raise ProducerError(f"sending to {target.describe()} failed: {aws_error(error)}", EXIT_SEND_FAILED) from None
    return outcome


def _print(outcome: dict[str, Any], target: Target, as_json: bool, stdout: TextIO, stderr: TextIO) -> None:
    for note in outcome["notes"]:
        print(f"{PROGRAM}: note: {note}", file=stderr)
    if as_json:
        print(json.dumps(outcome, ensure_ascii=False), file=stdout)
        return
    if outcome["dryRun"]:
        print(f"Dry run, nothing sent. Would send to {target.describe()}:", file=stdout)
        print(json.dumps(outcome["request"], indent=2, ensure_ascii=False), file=stdout)
    else:
        sent_id = outcome.get("messageId") or outcome.get("eventId")
        kind = "MessageId" if "messageId" in outcome else "EventId"
        print(f"Sent to {target.describe()}: {kind} {sent_id}", file=stdout)
    print(f"Result events name it: {outcome['resultEventsClientToken']}", file=stdout)
    print(f"ClientToken: {outcome['clientToken']}", file=stdout)


def run_send(
    args: argparse.Namespace,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    environ: Mapping[str, str],
    clients: AwsClients,
) -> int:
    """Check the request and send it; the exit code."""
    target = Target(
        queue_url=args.queue_url, event_bus=args.event_bus, source=args.source, detail_type=args.detail_type
    )
    try:
        outcome = _send(args, target, stdin, environ, clients)
    except ProducerError as error:
        print(f"{PROGRAM} send: error: {error}", file=stderr)
        for problem in error.problems:
            print(f"  {problem}", file=stderr)
        return error.exit_code
    _print(outcome, target, args.json, stdout, stderr)
    return 0
