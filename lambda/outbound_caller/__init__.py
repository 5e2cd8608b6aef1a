"""Places outbound calls through Amazon Connect for call requests read from SQS."""
