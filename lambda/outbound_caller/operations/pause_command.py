"""The `pause` and `resume` commands: stop and restart dialling at once, by the caller's event source mapping.

Paused, Lambda stops reading the source queue: requests wait there (new ones, and deferred ones as their delays end)
with no call and nothing lost, for as long as the queue keeps messages (its retention, 4 days by default); resumed, the
backlog drains at the deployment's pace, each request still within its own deferral bound (else Expired). A batch being
handled when the pause comes is finished first.

Exit codes: 0 done; 8 the mapping could not be found or changed.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.cli_clients import AwsClients, aws_error

EXIT_MAPPING_FAILED = 8


def add_pause_commands(commands: Any, aws_options: argparse.ArgumentParser) -> None:
    """The `pause` and `resume` commands' arguments."""
    for name, verb in (("pause", "stop"), ("resume", "restart")):
        command = commands.add_parser(
            name,
            parents=[aws_options],
            help=f"{verb} dialling: the caller's event source mapping",
            description=f"{verb.capitalize()} reading the source queue (the caller's SQS event source mapping).",
        )
        command.add_argument(
            "--function-name", required=True, help="the caller function (the stack's FunctionName output)"
        )


def run_pause(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, clients: AwsClients) -> int:
    """Disable (pause) or enable (resume) every SQS event source mapping of the function; the exit code."""
    enabled = args.command == "resume"
    lambda_client = clients.client("lambda")
    try:
        mappings = lambda_client.list_event_source_mappings(FunctionName=args.function_name)["EventSourceMappings"]
        queues = [mapping for mapping in mappings if ":sqs:" in mapping.get("EventSourceArn", "")]
        if not queues:
            print(f"{args.command}: error: {args.function_name} reads no SQS queue", file=stderr)
            return EXIT_MAPPING_FAILED
        for mapping in queues:
            state = lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)["State"]
            print(f"{mapping['EventSourceArn']}\t{state}", file=stdout)
    except (ClientError, BotoCoreError) as error:
        print(f"{args.command}: error: {aws_error(error)}", file=stderr)
        return EXIT_MAPPING_FAILED
    return 0
