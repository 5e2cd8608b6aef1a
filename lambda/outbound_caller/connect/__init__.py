"""The Connect call: paced, held back while the instance is busy, and placed at most once per token."""
