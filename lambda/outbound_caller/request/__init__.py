"""What arrives: the call request, the envelopes it may come in, and the API limits it is checked against."""
