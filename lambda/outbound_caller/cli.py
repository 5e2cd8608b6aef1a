"""The command line of producers and operators.

    python -m outbound_caller.cli send request.json --queue-url URL [--function-name NAME] [--dry-run]
    python -m outbound_caller.cli suppress add|remove|check NUMBER... --function-name OPT_OUT_FUNCTION
    python -m outbound_caller.cli suppress import FILE [--remove] --function-name OPT_OUT_FUNCTION
    python -m outbound_caller.cli pause|resume --function-name CALLER_FUNCTION

Each command's exit codes are in its module: producer/send_command.py, operations/suppress_command.py,
operations/pause_command.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from outbound_caller.cli_clients import AwsClients
from outbound_caller.operations.pause_command import add_pause_commands, run_pause
from outbound_caller.operations.suppress_command import add_suppress_command, run_suppress
from outbound_caller.producer.send_command import PROGRAM, add_send_command, run_send


def _parser() -> argparse.ArgumentParser:
    aws_options = argparse.ArgumentParser(add_help=False)
    aws_options.add_argument("--endpoint-url", help="an AWS endpoint to use instead (a local moto server)")
    aws_options.add_argument("--region", help="the AWS Region (else the profile's or AWS_REGION)")
    aws_options.add_argument("--profile", help="the AWS profile (else the default credentials)")
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Producers' and operators' commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_send_command(commands, aws_options)
    add_suppress_command(commands, aws_options)
    add_pause_commands(commands, aws_options)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    clients: AwsClients | None = None,
) -> int:
    """Run the command line; the exit code."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    clients = clients or AwsClients(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)
    if args.command == "send":
        return run_send(args, stdin or sys.stdin, stdout, stderr, os.environ if environ is None else environ, clients)
    if args.command == "suppress":
        return run_suppress(args, stdout, stderr, clients)
    return run_pause(args, stdout, stderr, clients)


if __name__ == "__main__":
    sys.exit(main())
