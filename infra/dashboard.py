"""The operators' CloudWatch dashboard: what was called, deferred, retried and dead-lettered, and why; Connect's
throttling and concurrent calls; the queues; the function; the suppression list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.function_metrics import (
    CONNECT_CALLS_BREACHING_CONCURRENCY_QUOTA,
    CONNECT_CONCURRENT_CALLS,
    CONNECT_CONCURRENT_CALLS_PERCENTAGE,
    CONNECT_THROTTLED_CALLS,
    FunctionMetrics,
    connect_metric,
)
from outbound_caller.names import (
    AGENT_METRICS_READ,
    AGENT_METRICS_UNAVAILABLE,
    CALLS_DEAD_LETTERED,
    CALLS_DEFERRED,
    CALLS_PARKED,
    CALLS_RETRIED,
    CALLS_SUPPRESSED,
    SLOTS_FREED,
    SLOTS_HANDED_OVER,
    SUPPRESSION_CHANGES,
    WAITING_ROOM_DRAWN,
)

# One point per 5 minutes: SQS's own resolution, and enough to read a day's calling at a glance.
GRAPH_PERIOD = Duration.minutes(5)
# Connect sends its instance metrics every minute; concurrency peaks shorter than 5 minutes matter.
CONNECT_PERIOD = Duration.minutes(1)
# CloudWatch dashboards are 24 units wide: three graphs a row.
GRAPH_WIDTH = 8
GRAPH_HEIGHT = 6
DASHBOARD_WIDTH = 24


@dataclass(frozen=True)
class OperationsDashboardProps:
    """What the dashboard graphs: the queues, the function, the Connect instance, and the alarms' states."""

    queue: sqs.IQueue
    # Each dead-letter queue by the name its graphs are labelled with.
    dead_letter_queues: Mapping[str, sqs.IQueue]
    function: lambda_.IFunction
    # The Connect instance whose metrics (throttles, concurrent calls) are graphed.
    instance_id: str
    alarms: tuple[cloudwatch.IAlarm, ...]
    function_metrics: FunctionMetrics = field(default_factory=FunctionMetrics)
    # Only with the suppression list: the function that changes it.
    opt_out_function: lambda_.IFunction | None = None
    # Only with the waiting room: its queue.
    waiting_room: sqs.IQueue | None = None
    # Whether the caller reads the queues' available agents.
    agent_pacing: bool = False


class OperationsDashboard(Construct):
    """One dashboard with the alarms' states on top and a graph for each question an operator asks."""

    def __init__(self, scope: Construct, construct_id: str, props: OperationsDashboardProps) -> None:
        super().__init__(scope, construct_id)
        calls, queue, function = props.function_metrics, props.queue, props.function

        def graph(
            title: str, left: Sequence[cloudwatch.IMetric], right: Sequence[cloudwatch.IMetric] = ()
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title, left=list(left), right=list(right), width=GRAPH_WIDTH, height=GRAPH_HEIGHT
            )

        def connect(name: str, statistic: str) -> cloudwatch.Metric:
            return connect_metric(name, props.instance_id, statistic=statistic, period=CONNECT_PERIOD)

        dead_letter_graphs: list[cloudwatch.IMetric] = []
        for name, dead_letter_queue in props.dead_letter_queues.items():
            dead_letter_graphs += [
                dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=GRAPH_PERIOD, statistic="Maximum", label=f"{name}: messages held"
                ),
                dead_letter_queue.metric_number_of_messages_sent(
                    period=GRAPH_PERIOD, statistic="Sum", label=f"{name}: messages sent"
                ),
            ]

        suppression_row: list[list[cloudwatch.IWidget]] = []
        if props.opt_out_function is not None:
            opt_out = props.opt_out_function
            suppression_row.append(
                [
                    graph(
                        "Calls suppressed (destination on the list)",
                        [calls.metric(CALLS_SUPPRESSED, period=GRAPH_PERIOD)],
                    ),
                    graph(
                        "Suppression list: numbers added or removed",
                        [calls.metric(SUPPRESSION_CHANGES, period=GRAPH_PERIOD)],
                    ),
                    graph(
                        "Opt-out function: invocations and errors",
                        [
                            opt_out.metric_invocations(period=GRAPH_PERIOD, statistic="Sum"),
                            opt_out.metric_errors(period=GRAPH_PERIOD, statistic="Sum"),
                        ],
                    ),
                ]
            )

        pacing_row: list[cloudwatch.IWidget] = []
        if props.waiting_room is not None:
            room = props.waiting_room
            pacing_row += [
                graph(
                    "Waiting room: requests parked and drawn",
                    [
                        calls.metric(CALLS_PARKED, period=GRAPH_PERIOD),
                        calls.metric(WAITING_ROOM_DRAWN, period=GRAPH_PERIOD),
                    ],
                    right=[
                        room.metric_approximate_number_of_messages_visible(period=GRAPH_PERIOD, statistic="Maximum")
                    ],
                ),
                graph(
                    "Ended calls' slots: handed over, or freed",
                    [
                        calls.metric(SLOTS_HANDED_OVER, period=GRAPH_PERIOD),
                        calls.metric(SLOTS_FREED, period=GRAPH_PERIOD),
                    ],
                ),
                graph(
                    "Age of the oldest request in the waiting room (s)",
                    [room.metric_approximate_age_of_oldest_message(period=GRAPH_PERIOD, statistic="Maximum")],
                ),
            ]
        if props.agent_pacing:
            pacing_row.append(
                graph(
                    "Queues' available agents: reads and failed reads",
                    [
                        calls.metric(AGENT_METRICS_READ, period=GRAPH_PERIOD),
                        calls.metric(AGENT_METRICS_UNAVAILABLE, period=GRAPH_PERIOD),
                    ],
                )
            )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(24),
            widgets=[
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(props.alarms), width=DASHBOARD_WIDTH)],
                [
                    graph("Calls placed", [calls.placed(period=GRAPH_PERIOD)]),
                    graph("Calls deferred, by reason", [calls.search_by_reason(CALLS_DEFERRED, period=GRAPH_PERIOD)]),
                    graph(
                        "Calls dead-lettered, by ErrorCode",
                        [calls.search_by_error_code(CALLS_DEAD_LETTERED, period=GRAPH_PERIOD)],
                    ),
                ],
                [
                    graph(
                        "Calls retried, by ErrorCode", [calls.search_by_error_code(CALLS_RETRIED, period=GRAPH_PERIOD)]
                    ),
                    graph(
                        "Connect: calls throttled or over the concurrency quota",
                        [
                            connect(CONNECT_THROTTLED_CALLS, "Sum"),
                            connect(CONNECT_CALLS_BREACHING_CONCURRENCY_QUOTA, "Sum"),
                        ],
                    ),
                    graph(
                        "Connect: concurrent calls",
                        [connect(CONNECT_CONCURRENT_CALLS, "Maximum")],
                        right=[connect(CONNECT_CONCURRENT_CALLS_PERCENTAGE, "Maximum")],
                    ),
                ],
                [
                    graph(
                        "Age of the oldest waiting request (s)",
                        [queue.metric_approximate_age_of_oldest_message(period=GRAPH_PERIOD, statistic="Maximum")],
                    ),
                    graph("Dead-letter queues", dead_letter_graphs),
                    graph(
                        "Placed calls not yet recorded",
                        [calls.records_pending(period=GRAPH_PERIOD)],
                    ),
                ],
                [
                    graph(
                        "Function: errors and throttles",
                        [
                            function.metric_errors(period=GRAPH_PERIOD, statistic="Sum"),
                            function.metric_throttles(period=GRAPH_PERIOD, statistic="Sum"),
                        ],
                    ),
                    graph(
                        "Function: duration (ms)",
                        [
                            function.metric_duration(period=GRAPH_PERIOD, statistic="p99"),
                            function.metric_duration(period=GRAPH_PERIOD, statistic="Maximum"),
                        ],
                    ),
                    graph(
                        "Function: invocations whose timeout was too short",
                        [calls.timeout_too_short(period=GRAPH_PERIOD)],
                    ),
                ],
                *suppression_row,
                *([pacing_row] if pacing_row else []),
            ],
        )
        stack = Stack.of(self)
        self.url = (
            f"https://{stack.region}.console.aws.amazon.com/cloudwatch/home?region={stack.region}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )
