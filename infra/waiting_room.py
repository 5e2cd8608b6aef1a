"""The waiting room: where requests wait while the Connect instance is full, drawn as the deployment's calls end.

The caller parks a request found InstanceAtCapacity here (settling/waiting_room.py) instead of deferring it to the end
of the instance's hold; the completion function moves one into the source queue as each of the deployment's calls
ends, and on its minute's tick the requests an opening of the instance allows (completion/hand_over.py). A FIFO queue,
so the oldest are drawn first; its own dead-letter queue takes a request that could not be drawn on several times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.intake import DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, secure_queue
from infra.queue_retention import WAITING_ROOM_MAX_RECEIVE_COUNT
from infra.queue_senders import SEND_MESSAGE, deny_other_iam_senders
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES
from outbound_caller.retention import DEAD_LETTER_QUEUE_RETENTION_DAYS


@dataclass(frozen=True)
class WaitingRoomProps:
    """Who may send to the room's queues besides the caller (a redrive sends with the rights of whoever starts it)."""

    operator_principals: tuple[str, ...] = ()


class WaitingRoom(Construct):
    """A FIFO queue where requests wait for a slot, and its FIFO dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str, props: WaitingRoomProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        # Kept as long as failed call requests, like the stack's other dead-letter queues; FIFO, as its source is.
        self.dead_letter_queue = secure_queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(DEAD_LETTER_QUEUE_RETENTION_DAYS),
            max_message_size_bytes=DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
            fifo=True,
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the waiting room's dead-letter queue (its redrive policy's target)",
            )
        )
        # SQS's longest retention: a parked request stays one message while it waits (a deferral through the source
        # queue is a new message each hop), so the room must keep it past the longest bound any request may have
        # (MAX_DEFERRAL_LIMIT_SECONDS, a week); drawn after its bound it is dead-lettered as Expired, never dialled,
        # so the placed-calls ledger need not outlive it. The source queue's size: what is drawn from here goes
        # there, so the room takes nothing the source queue would refuse.
        self.queue = secure_queue(
            self,
            "Queue",
            retention_period=Duration.days(DEAD_LETTER_QUEUE_RETENTION_DAYS),
            max_message_size_bytes=SOURCE_QUEUE_MAX_MESSAGE_BYTES,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=WAITING_ROOM_MAX_RECEIVE_COUNT
            ),
            fifo=True,
        )

    def grant_park(self, role: iam.IRole) -> None:
        """Let the caller send a request to the room (SendMessage only)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ParkInTheWaitingRoom", actions=[SEND_MESSAGE], resources=[self.queue.queue_arn])
        )

    def grant_draw(self, role: iam.IRole) -> None:
        """Let the completion function receive a waiting request and delete it once it is in the source queue."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DrawFromTheWaitingRoom",
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                resources=[self.queue.queue_arn],
            )
        )

    def admit_only(self, parkers: Sequence[iam.IRole]) -> None:
        """Deny sending to the room and its dead-letter queue to every IAM principal but the caller and the operators.

        Always, whoever may send to the source queue: a request planted in the room is drawn into the source queue by
        the completion function, which the source queue admits (and a planted dead-letter would be redriven there with
        an operator's trust). SQS's own move to the dead-letter queue carries no principal, and is not denied.
        """
        deny_other_iam_senders(
            self.queue,
            sid="OnlyTheCallerAndOperatorsMayPark",
            principals=self._props.operator_principals,
            roles=parkers,
        )
        deny_other_iam_senders(
            self.dead_letter_queue,
            sid="OnlyOperatorsMayDeadLetterWaitingRequests",
            principals=self._props.operator_principals,
        )
