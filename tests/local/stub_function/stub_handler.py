"""A function for testing the local event source runner: each record's JSON body says what to do with it.

{"do": "ok"} succeeds; {"do": "fail"} is listed in batchItemFailures; {"do": "sleep", "seconds": s} sleeps;
{"do": "raise"} fails the invocation; {"do": "unknown_id"} answers a batch response naming no record of the batch.
Every event is appended to EVENTS_PATH, when the invocation starts, so tests can inspect what Lambda would have
passed, to which container and when (even when the container is then killed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# Init work happens once per container, as in Lambda.
EVENTS_PATH = os.environ["STUB_EVENTS_PATH"]
CONTAINER_ID = os.getpid()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Act on each record as its body says."""
    with open(EVENTS_PATH, "a", encoding="utf-8") as log:
        log.write(
            json.dumps(
                {
                    "event": event,
                    "container": CONTAINER_ID,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                    "started_at": time.time(),
                    # Whether anything in the container imported botocore (the stub itself never does).
                    "botocore_loaded": "botocore" in sys.modules,
                }
            )
            + "\n"
        )
    failures = []
    for record in event["Records"]:
        action = json.loads(record["body"])
        if action["do"] == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
        elif action["do"] == "sleep":
            time.sleep(action["seconds"])
        elif action["do"] == "raise":
            raise RuntimeError("the stub was told to fail")
        elif action["do"] == "unknown_id":
            failures.append({"itemIdentifier": "not-in-this-batch"})
    return {"batchItemFailures": failures}
