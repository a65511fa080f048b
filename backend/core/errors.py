"""Domain errors that services raise without knowing about HTTP; the app maps them to responses."""

from collections.abc import Sequence


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class InvalidInput(DomainError):
    """A value that passed schema validation but breaks a rule needing server state."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str, value: object = None) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.value = value


class Overloaded(DomainError):
    """The server could not get the database within its bounded wait: try again shortly.

    Answered as 503 with Retry-After, so a device or the offline queue resends the same reading
    (same id: never stored twice) instead of hearing nothing while requests pile up.
    """

    status_code = 503

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after
