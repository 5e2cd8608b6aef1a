"""What a run's functions are told, as the stack tells them: the caller's environment (its resources) and the
completion function's, with the relay that feeds it the run's contact events."""

from __future__ import annotations

from infra.function_environment import SlotHandOverResources, completion_environment
from infra.settings import DeploymentSettings
from local.completions import CompletionRelay
from local.connect_instance import LocalConnectInstance
from local.intake import IntakeResources
from local.pipeline_config import PipelineConfig
from local.results import ResultSink


def caller_environment(
    settings: DeploymentSettings, intake: IntakeResources, result_sink: ResultSink | None
) -> dict[str, str]:
    """The caller's environment over the run's resources (DeploymentSettings.function_environment, as the stack)."""
    return settings.function_environment(
        intake.dead_letter_queue_url,
        intake.placed_calls_table_name,
        source_queue_url=intake.queue_url,
        message_signing_key_secret_id=intake.message_signing_key_secret_id,
        destination_calls_table_name=intake.destination_calls_table_name,
        result_event_bus_name=result_sink.bus_name if result_sink is not None else None,
        waiting_room_queue_url=intake.waiting_room_queue_url,
    )


def completion_relay(
    config: PipelineConfig, intake: IntakeResources, result_event_bus_name: str, instance: LocalConnectInstance
) -> CompletionRelay:
    """The completion function (its environment as the stack sets it), fed the instance's ended calls."""
    settings = config.settings
    hand_over = (
        SlotHandOverResources(
            waiting_room_queue_url=intake.waiting_room_queue_url,
            source_queue_url=intake.queue_url,
            message_signing_key_secret_id=intake.message_signing_key_secret_id,
            concurrent_calls_limit=settings.concurrent_calls_limit,
        )
        if intake.waiting_room_queue_url is not None
        else None
    )
    environment = completion_environment(
        settings.instance_id,
        intake.placed_calls_table_name,
        result_event_bus_name,
        hand_over=hand_over,
        agent_pacing=settings.agent_pacing,
    )
    return CompletionRelay(instance, environment, config.work_dir, settings.instance_id)
