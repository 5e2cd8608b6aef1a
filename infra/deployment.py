"""The deployment as an account knows it: the CloudFormation stack the app deploys.

Pure (no aws_cdk import), so preflight finds the stack without loading CDK.
"""

from __future__ import annotations

# The CloudFormation stack the app deploys; `python -m preflight` looks it up by this name.
STACK_NAME = "ConnectOutboundCaller"
