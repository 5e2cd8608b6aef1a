"""The errors the local Connect answers with, each with its HTTP status from the API model, besides the connection it
closes without an answer.

A leaf: the instance's rules raise these, the instance counts them, the HTTP server renders them.
"""

from __future__ import annotations

# HTTP status of each error, from the Connect API model (botocore's connect/2017-08-08/service-2.json).
ERROR_STATUS: dict[str, int] = {
    "InvalidRequestException": 400,
    "InvalidParameterException": 400,
    "AccessDeniedException": 403,
    "DestinationNotAllowedException": 403,
    "OutboundContactNotPermittedException": 403,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "TooManyRequestsException": 429,
    "LimitExceededException": 429,
    "InternalServiceException": 500,
}


class ConnectError(Exception):
    """An error answer of the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DroppedConnectionError(Exception):
    """The instance closes the connection without answering; the argument names the injected fault."""

    @property
    def fault(self) -> str:
        """The injected fault that dropped the connection (DROP_BEFORE_CREATE or DROP_AFTER_CREATE)."""
        return str(self.args[0])


def internal_error() -> ConnectError:
    """The API's answer to a failure on its side."""
    return ConnectError("InternalServiceException", "Request processing failed because of an internal error")


def too_many_requests() -> ConnectError:
    """The API's answer to more requests than it takes, beyond the ThrottlingException of the quota."""
    return ConnectError("TooManyRequestsException", "Too many requests")
