"""Sending a request that can never succeed to the dead-letter queue, with the reason and its token attached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outbound_caller.decisions import Failure
from outbound_caller.names import (
    ATTEMPT_ATTRIBUTE,
    CLIENT_TOKEN_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    ERROR_MESSAGE_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.settling.outgoing import MessageTooLargeError, check_fits, outgoing_attributes

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def dead_letter(
    sqs: SQSClient,
    queue_url: str,
    body: str,
    failure: Failure,
    source_message_id: str,
    client_token: str,
    key: bytes | None,
    attempt: int = 1,
) -> None:
    """Send the original body, unchanged, with ErrorCode, ErrorMessage, SourceMessageId and ClientToken attributes.

    ``client_token`` is what a redrive of this message must call with: the token itself when it lives only
    in the delivery (an SQS messageId, say), or its masked form when the body carries it (it wins on redrive).
    An uncertain outcome also names its placed-calls attempt: redriving the message confirms that attempt only.
    The attributes are signed with ``key`` (the redrive then trusts them). A body too large to carry them all loses
    the ErrorMessage first (the log keeps it); one too large even then raises MessageTooLargeError.
    """
    values = {
        ERROR_CODE_ATTRIBUTE: failure.code,
        ERROR_MESSAGE_ATTRIBUTE: failure.message or failure.code,
        SOURCE_MESSAGE_ID_ATTRIBUTE: source_message_id,
        CLIENT_TOKEN_ATTRIBUTE: client_token,
    }
    if failure.attempt is not None:
        values[UNCERTAIN_ATTEMPT_ATTRIBUTE] = str(failure.attempt)
    if attempt > 1:
        # A redial's later attempt: a redrive calls that attempt again, with its own token.
        values[ATTEMPT_ATTRIBUTE] = str(attempt)
    attributes = outgoing_attributes(body, values, key)
    try:
        check_fits(body, attributes)
    except MessageTooLargeError:
        # Only where the source queue takes larger bodies than the stack sets it to (message_size.py).
        values.pop(ERROR_MESSAGE_ATTRIBUTE)
        attributes = outgoing_attributes(body, values, key)
        check_fits(body, attributes)
    sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
