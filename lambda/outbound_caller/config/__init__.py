"""The function's configuration: its settings, parsed once from the environment, and the values they are made of."""
