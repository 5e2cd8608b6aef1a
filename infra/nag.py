"""cdk-nag's AwsSolutions checks, run on every synth; acknowledgments live next to the resources they concern."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks


def enable_nag_checks(app: App) -> None:
    """Run the AwsSolutions pack as a policy-validation plugin: any unacknowledged finding fails synthesis."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
