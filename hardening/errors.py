"""One tree of domain errors; the API maps each class to one HTTP status, the CLI to exit 1."""

from __future__ import annotations


class HardeningError(Exception):
    """Base of every error the service raises on purpose."""


class UserInputError(HardeningError):
    """The caller sent something unusable (bad file, bad coordinates, bad option)."""


class NotFoundError(HardeningError):
    """The object does not exist, or the actor may not see it."""


class PermissionDeniedError(HardeningError):
    """The actor is known but may not do this."""


class AuthenticationError(HardeningError):
    """No valid credentials."""


class ConflictError(HardeningError):
    """A stale version or a state transition that is not allowed."""


class DatabaseUnavailableError(HardeningError):
    """The database cannot be reached or is not set up."""


class SetupError(HardeningError):
    """The machine lacks something the service needs (binaries, permissions)."""


class OverloadedError(HardeningError):
    """Too much heavy work in flight (the caller's share, or the service's): try again later."""

    def __init__(self, message: str, retry_after_s: int = 15) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
