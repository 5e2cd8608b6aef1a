"""Agent pacing's part in the completion: a call counts on an agent of its queue from its placing until its contact
connects to an agent (CONNECTED_TO_AGENT) or ends (DISCONNECTED); then its claim ends (connect/agents.py).

An agent that took a call is on a contact: a reading of the queue's available agents taken before the connection
still counts it, so it is taken off that reading as the claim ends; else the ended claim would let another call count
on that very agent until the next reading (a callee answered with nobody free: an abandoned call).

Never fails the completion: a claim not ended lapses on its own (CLAIM_SECONDS).
"""

from __future__ import annotations

from outbound_caller.completion.collaborators import Completion
from outbound_caller.completion.contact_event import ContactEventDetail
from outbound_caller.observability import logger


def end_claim(completion: Completion, token_sha256: str | None, queue_id: str | None) -> None:
    """End the agent claim of the call with this token hash on its queue, if agent pacing is on and it has one."""
    if completion.agents is None or token_sha256 is None or queue_id is None:
        return
    try:
        completion.agents.remove_claim(queue_id, token_sha256, completion.now_ms())
    except Exception as error:  # noqa: BLE001 - the claim lapses on its own
        logger.warning("Agent claim not ended", extra={"error": type(error).__name__})


def connected_to_agent(completion: Completion, detail: ContactEventDetail) -> None:
    """A contact of the deployment's connected to an agent: the agent it counted on is taken, its claim ends."""
    if completion.agents is None:
        return
    try:
        token_sha256 = completion.lookup.client_token_sha256(detail.contact_id)
        queue_id = completion.ends.agent_queue(token_sha256) if token_sha256 is not None else None
    except Exception as error:  # noqa: BLE001 - the claim lapses on its own
        logger.warning("Agent claim not found", extra={"error": type(error).__name__})
        return
    if token_sha256 is None or queue_id is None:
        return
    connected = detail.agent_info.connected_to_agent_timestamp if detail.agent_info is not None else None
    # Without its time, the connection is taken as now: any reading before it still counted the agent.
    now_ms = completion.now_ms()
    connected_ms = int(connected.timestamp() * 1000) if connected is not None else now_ms
    try:
        completion.agents.agent_taken(queue_id, token_sha256, connected_ms, now_ms)
    except Exception as error:  # noqa: BLE001 - the claim lapses on its own
        logger.warning("Agent claim not ended", extra={"error": type(error).__name__})
