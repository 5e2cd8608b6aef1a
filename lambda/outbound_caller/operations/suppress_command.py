"""The `suppress` command: add numbers to the suppression list, take them off, check them, or import a file of them.

Every change goes through the deployment's opt-out function (lambda:InvokeFunction on it): it keys each number with the
list's HMAC key, which this command never reads, writes the table and announces the change on the result bus, which
only the deployment's functions may publish to. An import sends the file in batches, several at once, with progress.

Exit codes: 0 done; 2 bad arguments; 3 unreadable file; 5 some numbers are not phone numbers (the others were done);
8 the opt-out function could not be invoked, or failed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.api_limits import MAX_NUMBERS_PER_INVOCATION
from outbound_caller.cli_clients import AwsClients, aws_error
from outbound_caller.privacy import mask_phone_number

EXIT_UNREADABLE_FILE = 3
EXIT_INVALID_NUMBERS = 5
EXIT_INVOKE_FAILED = 8
# Batches in flight at once during an import: enough to keep the function busy, few enough not to throttle it.
IMPORT_CONCURRENCY = 8
INVALID = "invalid"


class InvokeFailedError(Exception):
    """The opt-out function could not be invoked, or answered with an error."""


def add_suppress_command(commands: Any, aws_options: argparse.ArgumentParser) -> None:
    """The `suppress` command's arguments."""
    suppress = commands.add_parser(
        "suppress",
        parents=[aws_options],
        help="add numbers to the suppression list, remove, check or import them",
        description="Change or read the suppression (do-not-call) list through the deployment's opt-out function.",
    )
    suppress.add_argument("operation", choices=["add", "remove", "check", "import"])
    suppress.add_argument("numbers", nargs="+", help="E.164 numbers; for import, one file: a number per line")
    suppress.add_argument(
        "--function-name", required=True, help="the opt-out function (the stack's OptOutFunctionName output)"
    )
    suppress.add_argument("--remove", action="store_true", help="with import: take the file's numbers off the list")


def run_suppress(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, clients: AwsClients) -> int:
    """Run the command; the exit code."""
    invoke = _invoker(clients, args.function_name)
    try:
        if args.operation == "import":
            return _import(args.numbers, "remove" if args.remove else "add", invoke, stdout, stderr)
        statuses = invoke(args.operation, args.numbers)
    except InvokeFailedError as error:
        print(f"suppress: error: {error}", file=stderr)
        return EXIT_INVOKE_FAILED
    for number, status in zip(args.numbers, statuses, strict=True):
        print(f"{mask_phone_number(number)}\t{status}", file=stdout)
    return EXIT_INVALID_NUMBERS if INVALID in statuses else 0


def _invoker(clients: AwsClients, function_name: str) -> Callable[[str, Sequence[str]], list[str]]:
    def invoke(operation: str, numbers: Sequence[str]) -> list[str]:
        payload = json.dumps({"Operation": operation, "PhoneNumbers": list(numbers)})
        try:
            answer = clients.client("lambda").invoke(
                FunctionName=function_name, InvocationType="RequestResponse", Payload=payload.encode()
            )
        except (ClientError, BotoCoreError) as error:
            raise InvokeFailedError(f"invoking {function_name} failed: {aws_error(error)}") from None
        body = json.loads(answer["Payload"].read() or b"{}")
        if answer.get("FunctionError") or "Statuses" not in body:
            raise InvokeFailedError(f"{function_name} answered with an error: {body.get('errorType') or body}")
        return list(body["Statuses"])

    return invoke


def _numbers_of(path: Path) -> list[str]:
    """The file's numbers: one per line, blank lines and '#' comments left out."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def _batches(numbers: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(numbers), MAX_NUMBERS_PER_INVOCATION):
        yield numbers[start : start + MAX_NUMBERS_PER_INVOCATION]


def _import(
    files: list[str], operation: str, invoke: Callable[[str, Sequence[str]], list[str]], stdout: TextIO, stderr: TextIO
) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    try:
        numbers = [number for name in files for number in _numbers_of(Path(name))]
    except (OSError, UnicodeDecodeError) as error:
        print(f"suppress import: error: cannot read {files}: {type(error).__name__}", file=stderr)
        return EXIT_UNREADABLE_FILE
    statuses: list[str] = []
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress, ThreadPoolExecutor(IMPORT_CONCURRENCY) as pool:
        task = progress.add_task("numbers", total=len(numbers))
        for done in pool.map(lambda batch: invoke(operation, batch), _batches(numbers)):
            statuses.extend(done)
            progress.advance(task, len(done))
    invalid = [index + 1 for index, status in enumerate(statuses) if status == INVALID]
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    print(json.dumps({"numbers": len(numbers), **counts}), file=stdout)
    if invalid:
        print(f"suppress import: {len(invalid)} entries are not phone numbers (positions {invalid[:20]})", file=stderr)
        return EXIT_INVALID_NUMBERS
    return 0
