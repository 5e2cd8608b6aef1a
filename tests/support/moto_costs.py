"""`python -m tests.support.moto_costs [--patched]`: the work moto does for a send to a long queue and for events
forwarded to a queue, with local/moto_patches.py installed or not, printed as one JSON line.

A process of its own, since the patches change moto's classes for good: the tests' own moto must stay unpatched.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

# Long enough that a scan of the queue shows: its messages are checked for visibility thousands of times.
QUEUE_LENGTH = 500
EVENTS_FORWARDED = 3
REGION = "us-east-1"


def _counting(counts: Counter[str], name: str, function: Any) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return function(*args, **kwargs)

    return counted


def measure(patched: bool) -> dict[str, int]:
    """Visibility checks of one SendMessage to a queue of QUEUE_LENGTH; jsonpath parsers built to forward events."""
    if patched:
        from local import moto_patches

        moto_patches.install()
    import jsonpath_ng.ext.parser
    from moto.sqs.models import Message

    counts: Counter[str] = Counter()
    visible: property = Message.visible  # type: ignore[assignment]
    Message.visible = property(_counting(counts, "visibility_checks", visible.fget))  # type: ignore[method-assign,assignment]
    parser = jsonpath_ng.ext.parser.ExtendedJsonPathParser
    parser.__init__ = _counting(counts, "parsers_built", parser.__init__)  # type: ignore[method-assign]
    with mock_aws():
        sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="long")["QueueUrl"]
        for first in range(0, QUEUE_LENGTH, 10):
            sqs.send_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": str(first + i)} for i in range(10)]
            )
        counts.clear()
        sqs.send_message(QueueUrl=queue_url, MessageBody="one more")
        visibility_checks = counts["visibility_checks"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["test"]}))
        events.put_targets(Rule="all", Targets=[{"Id": "queue", "Arn": arn}])
        for index in range(EVENTS_FORWARDED):
            events.put_events(Entries=[{"Source": "test", "DetailType": "t", "Detail": json.dumps({"n": index})}])
    return {"visibility_checks_per_send": visibility_checks, "parsers_built": counts["parsers_built"]}


if __name__ == "__main__":
    print(json.dumps(measure(patched="--patched" in sys.argv[1:])))
