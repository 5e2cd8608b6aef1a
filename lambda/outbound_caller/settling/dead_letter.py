"""Sending a request that can never succeed to the dead-letter queue, with the reason and its token attached."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from outbound_caller.request.envelopes import (
    CLIENT_TOKEN_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.settling.outcomes import Failure
from outbound_caller.timeouts import SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS, create_client

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


@cache
def sqs_client() -> SQSClient:
    """The SQS client, made on first use and then reused: only a dead-letter or a deferral sends."""
    client: SQSClient = create_client("sqs", SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS)
    return client


def dead_letter(queue_url: str, body: str, failure: Failure, source_message_id: str, client_token: str) -> None:
    """Send the original body, unchanged, with ErrorCode, ErrorMessage, SourceMessageId and ClientToken attributes.

    ``client_token`` is what a redrive of this message must call with: the token itself when it lives only
    in the delivery (an SQS messageId, say), or its masked form when the body carries it (it wins on redrive).
    An uncertain outcome also names its placed-calls attempt: redriving the message confirms that attempt only.
    """
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        ERROR_CODE_ATTRIBUTE: {"DataType": "String", "StringValue": failure.code},
        "ErrorMessage": {"DataType": "String", "StringValue": failure.message or failure.code},
        SOURCE_MESSAGE_ID_ATTRIBUTE: {"DataType": "String", "StringValue": source_message_id},
        CLIENT_TOKEN_ATTRIBUTE: {"DataType": "String", "StringValue": client_token},
    }
    if failure.attempt is not None:
        attributes[UNCERTAIN_ATTEMPT_ATTRIBUTE] = {"DataType": "String", "StringValue": str(failure.attempt)}
    sqs_client().send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
