"""`make preflight`: check an AWS account against the deployment's settings before the first real call."""
