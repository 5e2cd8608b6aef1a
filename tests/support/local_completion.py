"""The local call completion under test: local AWS with the demo's ledger and result bus, a local Connect, and the
relay running the real completion function, whose failed invocations are retried a second and two apart (Lambda:
one and two minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.function_environment import completion_environment
from local.completions import CompletionRelay
from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint
from local.demo import demo_settings
from local.intake import IntakeResources, create_intake
from local.moto_servers import LocalAws
from local.results import ResultSink, create_result_sink
from local.sdk_environment import local_sdk_environment, scoped_environment
from tests.support.environment import INSTANCE_ID

RETRY_DELAYS_SECONDS = (1.0, 2.0)


@dataclass(frozen=True)
class LocalCompletion:
    intake: IntakeResources
    connect: LocalConnectEndpoint
    relay: CompletionRelay
    sink: ResultSink


@contextmanager
def local_completion(
    work_dir: Path, behaviour: ConnectBehaviour, *, agent_pacing: bool = False
) -> Iterator[LocalCompletion]:
    """Everything running, inside the local SDK environment; stopped after."""
    with (
        LocalAws(separate_dynamodb=True) as aws,
        LocalConnectEndpoint(behaviour) as connect,
        scoped_environment(local_sdk_environment(aws.url, connect.url, work_dir, aws.dynamodb_url)),
    ):
        settings = demo_settings({})
        intake = create_intake(settings, visibility_timeout_seconds=30)
        sink = create_result_sink(settings)
        assert sink is not None
        environment = completion_environment(
            INSTANCE_ID, intake.placed_calls_table_name, sink.bus_name, agent_pacing=agent_pacing
        )
        with CompletionRelay(
            connect.instance, environment, work_dir, INSTANCE_ID, retry_delays_seconds=RETRY_DELAYS_SECONDS
        ) as relay:
            yield LocalCompletion(intake, connect, relay, sink)
