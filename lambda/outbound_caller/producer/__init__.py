"""The producer's side: checking a call request as the function will, and sending it (python -m outbound_caller.cli)."""
