"""How a record ends when it places no call: dead-lettered with its reason, deferred, or retried."""
