"""One local run's configuration: the deployment settings, the local Connect's behaviour, the faults to inject, and
the demo's overrides of what the stack derives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infra.settings import DeploymentSettings
from local.connect_behaviour import ConnectBehaviour
from local.delivery_faults import DeliveryFaults
from local.function_container import DEFAULT_CODE_ROOT, DEFAULT_HANDLER
from local.worker_faults import WorkerFaults

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = REPO_ROOT / ".local"
FUNCTION_LOG_NAME = "function.log"


@dataclass(frozen=True)
class PipelineConfig:
    """One local run: the deployment settings plus the local instance's behaviour and the demo overrides."""

    settings: DeploymentSettings
    connect: ConnectBehaviour
    # Demo override: the deployed visibility timeout (6 x the function timeout) would make a retry wait minutes.
    visibility_timeout_seconds: int | None = None
    # Demo/test override of the function timeout; None keeps the one the stack derives.
    function_timeout_seconds: float | None = None
    work_dir: Path = DEFAULT_WORK_DIR
    handler: str = DEFAULT_HANDLER
    code_root: Path = DEFAULT_CODE_ROOT
    extra_function_environment: dict[str, str] = field(default_factory=dict)
    # Misbehaviour of the runtime and of SQS to inject (reliability runs): dying workers, duplicate deliveries.
    worker_faults: WorkerFaults | None = None
    delivery_faults: DeliveryFaults | None = None
    # Send every request before the event source starts polling, and start the run's clock then (benchmarks): the
    # whole load is queued and no function container has started, so cold starts count and sending does not.
    queue_before_polling: bool = False

    @property
    def effective_visibility_timeout_seconds(self) -> int:
        """The visibility timeout the local queue gets."""
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.settings.visibility_timeout_seconds

    @property
    def effective_function_timeout_seconds(self) -> float:
        """The timeout the runner enforces on each invocation."""
        if self.function_timeout_seconds is not None:
            return self.function_timeout_seconds
        return float(self.settings.function_timeout_seconds)

    @property
    def log_path(self) -> Path:
        """Where the function containers' stdout and stderr go."""
        return self.work_dir / FUNCTION_LOG_NAME
