"""Result events: each record's outcome published to the deployment's result event bus."""
