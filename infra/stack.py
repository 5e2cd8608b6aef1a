"""The stack: intake, caller, alarms and dashboard wired together, with the outputs producers need.

The one place that reads the deployment's settings: each construct gets typed props naming what it needs.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from infra.alarms import OperationalAlarms, OperationalAlarmsProps
from infra.caller import OutboundCaller, OutboundCallerProps
from infra.completion import CallCompletion, CallCompletionProps, SlotHandOverProps
from infra.dashboard import OperationsDashboard, OperationsDashboardProps
from infra.event_bus import CallRequestBusProps
from infra.intake import CallRequestIntake, CallRequestIntakeProps
from infra.optout import OptOut, OptOutProps
from infra.results import ResultEventBus, ResultEventBusProps
from infra.settings import DeploymentSettings
from infra.stack_warnings import warn_about
from infra.suppression import SuppressionList
from infra.tables import ExpiringTable, ExpiringTableProps
from infra.waiting_room import WaitingRoom, WaitingRoomProps


class OutboundCallerStack(Stack):
    """SQS and EventBridge in, Amazon Connect StartOutboundVoiceContact out, failures to a dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        intake = CallRequestIntake(
            self,
            "Intake",
            CallRequestIntakeProps(
                visibility_timeout=Duration.seconds(settings.visibility_timeout_seconds),
                max_receive_count=settings.max_receive_count,
                event_detail_types=settings.event_detail_types,
                event_sources=settings.event_sources,
                event_bus=CallRequestBusProps(
                    shared_bus_name=settings.event_bus_name, producer_principals=settings.event_bus_producer_principals
                ),
                sns_topic_arns=settings.sns_topic_arns,
                queue_producer_principals=settings.queue_producer_principals,
                operator_principals=settings.operator_principals,
            ),
        )
        placed_calls = ExpiringTable(self, "PlacedCalls", ExpiringTableProps(contact_id_index=True))
        # Only when a limit is set (per number, per caller ID: one table counts both): no table, no grant otherwise.
        destination_calls = (
            ExpiringTable(self, "DestinationCalls", ExpiringTableProps()) if settings.counts_calls else None
        )
        suppression = SuppressionList(self, "SuppressionList") if settings.suppression_list else None
        results = (
            ResultEventBus(self, "Results", ResultEventBusProps(existing_bus=settings.result_event_bus_name))
            if settings.result_events
            else None
        )
        # Only with result events: the completion function, which draws the room as calls end, runs only then.
        waiting_room = (
            WaitingRoom(self, "WaitingRoom", WaitingRoomProps(operator_principals=settings.operator_principals))
            if settings.has_waiting_room
            else None
        )
        caller = OutboundCaller(
            self,
            "Caller",
            OutboundCallerProps(
                configuration=settings.function_configuration,
                timeout=Duration.seconds(settings.function_timeout_seconds),
                batch_size=settings.batch_size,
                batching_window_seconds=settings.batching_window_seconds,
                queue=intake.queue,
                dead_letter_queue=intake.dead_letter_queue,
                placed_calls=placed_calls.table,
                destination_calls=destination_calls.table if destination_calls is not None else None,
                result_event_bus=results,
                suppression_list=suppression,
                waiting_room=waiting_room,
            ),
        )
        opt_out = None
        if suppression is not None:
            opt_out = OptOut(
                self,
                "OptOut",
                OptOutProps(
                    code=caller.code,
                    suppression_list=suppression,
                    event_bus=intake.event_bus,
                    event_sources=settings.event_sources,
                    instance_id=settings.instance_id,
                    associate_with_instance=settings.associate_opt_out_function,
                    result_event_bus=results,
                    operator_principals=settings.operator_principals,
                ),
            )
        completion = None
        if results is not None:
            # How each placed call ended, on the same bus: nothing to report to when result events are off.
            completion = CallCompletion(
                self,
                "Completion",
                CallCompletionProps(
                    instance_id=settings.instance_id,
                    code=caller.code,
                    placed_calls=placed_calls.table,
                    result_event_bus=results,
                    operator_principals=settings.operator_principals,
                    hand_over=(
                        SlotHandOverProps(
                            waiting_room=waiting_room,
                            source_queue=intake.queue,
                            signing_key=caller.signing_key,
                            concurrent_calls_limit=settings.concurrent_calls_limit,
                        )
                        if waiting_room is not None
                        else None
                    ),
                    agent_pacing=settings.agent_pacing,
                ),
            )
        # The caller sends deferrals back to the source queue; the completion draws waiting requests into it.
        own_senders = [caller.role] if completion is None or waiting_room is None else [caller.role, completion.role]
        intake.admit_only(own_senders=own_senders)
        # Always, whoever may send to the source queue: a message planted in a dead-letter queue is redriven into the
        # source queue by an operator, with the trust a redrive carries.
        intake.admit_dead_letters_only_from([caller.role])
        dead_letter_queues = {
            "DeadLetterQueue": intake.dead_letter_queue,
            "RuleDeadLetterQueue": intake.rule_dead_letter_queue,
        }
        if completion is not None:
            # Contact events the completion function could not deliver or handle: a producer missed a Completed event.
            dead_letter_queues["CompletionDeadLetterQueue"] = completion.dead_letter_queue
        if waiting_room is not None:
            waiting_room.admit_only(parkers=[caller.role])
            # Waiting requests the completion could not draw on, time after time: they call no more until redriven.
            dead_letter_queues["WaitingRoomDeadLetterQueue"] = waiting_room.dead_letter_queue
        if opt_out is not None:
            # Opt-outs the function could not be given or could not apply: someone who asked not to be called still may.
            dead_letter_queues["OptOutDeadLetterQueue"] = opt_out.dead_letter_queue
        alarms = OperationalAlarms(
            self,
            "Alarms",
            OperationalAlarmsProps(
                queue=intake.queue,
                dead_letter_queues=dead_letter_queues,
                function=caller.function,
                oldest_request_age_seconds=settings.oldest_request_age_alarm_seconds,
                alarm_email=settings.alarm_email,
                alarm_topic_arn=settings.alarm_topic_arn,
                result_events=results is not None,
                opt_out_function=opt_out.function if opt_out is not None else None,
                waiting_room=waiting_room.queue if waiting_room is not None else None,
                agent_pacing=settings.agent_pacing,
            ),
        )
        dashboard = OperationsDashboard(
            self,
            "Operations",
            OperationsDashboardProps(
                queue=intake.queue,
                dead_letter_queues=dead_letter_queues,
                function=caller.function,
                instance_id=settings.instance_id,
                alarms=tuple(alarms.alarms),
                opt_out_function=opt_out.function if opt_out is not None else None,
                waiting_room=waiting_room.queue if waiting_room is not None else None,
                agent_pacing=settings.agent_pacing,
            ),
        )

        outputs = {
            "QueueUrl": (intake.queue.queue_url, "Send call requests here (sqs:SendMessage)"),
            "QueueArn": (intake.queue.queue_arn, "The source queue, for producers' IAM policies and SNS subscriptions"),
            "DeadLetterQueueUrl": (intake.dead_letter_queue.queue_url, "Failed call requests; redrive from here"),
            "DeadLetterQueueArn": (intake.dead_letter_queue.queue_arn, "For aws sqs start-message-move-task"),
            "RuleDeadLetterQueueUrl": (intake.rule_dead_letter_queue.queue_url, "Events the rule could not deliver"),
            "EventBusName": (intake.event_bus.event_bus_name, "Put call-request events on this bus"),
            "EventBusArn": (
                intake.event_bus.event_bus_arn,
                "The bus, for producers' IAM policies and cross-account rules",
            ),
            "RuleName": (intake.rule.rule_name, "The rule routing call-request events to the queue"),
            "FunctionName": (caller.function.function_name, "The outbound caller function"),
            "DashboardName": (dashboard.dashboard.dashboard_name, "The operators' CloudWatch dashboard"),
            "DashboardUrl": (dashboard.url, "Open the operators' dashboard in the CloudWatch console"),
        }
        if results is not None:
            outputs["ResultEventBusName"] = (
                results.bus.event_bus_name,
                "Result events (Placed, Rejected, Deferred, Completed, Opt Out, Opt In)",
            )
            outputs["ResultEventBusArn"] = (results.bus.event_bus_arn, "For rules and consumers' IAM policies")
        if opt_out is not None and suppression is not None:
            outputs["OptOutFunctionName"] = (
                opt_out.function.function_name,
                "The opt-out function: outbound_caller.cli suppress --function-name, and contact flows' Lambda block",
            )
            outputs["SuppressionTableName"] = (
                suppression.table.table_name,
                "The suppression list (keyed hashes of numbers); kept when the stack is deleted",
            )
        if waiting_room is not None:
            outputs["WaitingRoomQueueUrl"] = (
                waiting_room.queue.queue_url,
                "Requests waiting for a slot of the full Connect instance (FIFO; drawn by the completion function)",
            )
            outputs["WaitingRoomDeadLetterQueueUrl"] = (
                waiting_room.dead_letter_queue.queue_url,
                "Waiting requests that could not be drawn; redrive them to the waiting room",
            )
        if alarms.topic is not None:
            outputs["AlarmTopicArn"] = (alarms.topic.topic_arn, "Alarm notifications (confirm the email subscription)")
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

        warn_about(self, settings)
