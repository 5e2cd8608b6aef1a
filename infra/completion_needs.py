"""What needs the completion function, which runs only with result events: redial (it records each attempt's outcome),
the waiting room (it draws it as calls end) and agent pacing (it ends each call's claim on an agent). Pure (no
aws_cdk import): the settings check it at synth."""

from __future__ import annotations


def completion_needs_refusal(
    *,
    result_events: bool,
    result_event_bus_name: str | None,
    redials: bool,
    waiting_room: bool | None,
    agent_pacing: bool,
    agent_queue_ids: tuple[str, ...],
) -> str | None:
    """Why these settings cannot be deployed together, naming the context keys; None when they can."""
    if redials and not result_events:
        return (
            "redialOn and redialMaxAttempts ask for redials, which need each call's outcome: the completion"
            " function records it, and it runs only with resultEvents on. Set resultEvents to true, or"
            " redialMaxAttempts to 1"
        )
    if waiting_room and not result_events:
        return (
            "waitingRoom is true, but the waiting room is drawn by the completion function as calls end, which"
            " runs only with resultEvents on. Set resultEvents to true, or unset waitingRoom"
        )
    if agent_pacing and not result_events:
        return (
            "agentPacing is true, but each call's claim on an agent is ended by the completion function (its"
            " contact connected to an agent, or ended), which runs only with resultEvents on. Set resultEvents"
            " to true, or agentPacing to false"
        )
    if agent_pacing and not agent_queue_ids:
        return (
            "agentPacing is true, but no call can be routed to a queue (connectQueueId and allowedQueueIds are"
            " unset): there are no agents to pace to. Set connectQueueId, or agentPacing to false"
        )
    if not result_events and result_event_bus_name is not None:
        return f"resultEvents is false but resultEventBusName is {result_event_bus_name!r}: set one or the other"
    return None
