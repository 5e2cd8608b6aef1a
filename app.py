#!/usr/bin/env python3
"""CDK entry point: builds the outbound caller stack from cdk.json / -c context values and synthesizes it."""

import sys

from infra.application import build_app
from infra.context_loading import InvalidDeploymentSettings


def main() -> int:
    """Synthesize the app, or explain which context value is wrong."""
    try:
        app = build_app()
    except InvalidDeploymentSettings as error:
        print(error, file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
