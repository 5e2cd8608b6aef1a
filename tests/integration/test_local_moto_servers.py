"""The local AWS process: moto's server in its own process, safe under the pipeline's concurrent sends and deletes."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3

from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment

SENDERS, DELETERS, MESSAGES_PER_SENDER = 4, 6, 400


def test_concurrent_sends_and_deletes_lose_no_message(tmp_path: Path) -> None:
    # Given the local AWS server, and producers sending while consumers receive and delete, as a pipeline run does
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        queue_url = boto3.client("sqs").create_queue(QueueName="race")["QueueUrl"]
        deleted: list[str] = []
        sending = threading.Event()
        sending.set()

        def send(sender: int) -> None:
            sqs = boto3.client("sqs")
            for first in range(0, MESSAGES_PER_SENDER, 10):
                entries = [{"Id": str(i), "MessageBody": f"{sender}-{i}"} for i in range(first, first + 10)]
                sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

        def consume() -> None:
            sqs = boto3.client("sqs")
            while True:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages and not sending.is_set():
                    return
                if messages:
                    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                    sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
                    deleted.extend(message["Body"] for message in messages)

        senders = [threading.Thread(target=send, args=(sender,)) for sender in range(SENDERS)]
        consumers = [threading.Thread(target=consume) for _ in range(DELETERS)]
        # When they all run at once until every message has been sent and the queue is drained
        for thread in (*senders, *consumers):
            thread.start()
        for thread in senders:
            thread.join()
        sending.clear()
        for thread in consumers:
            thread.join()
    # Then every message sent was received and deleted (SQS may deliver one twice): none vanished in a send racing
    # a delete
    assert set(deleted) == {f"{s}-{i}" for s in range(SENDERS) for i in range(MESSAGES_PER_SENDER)}
