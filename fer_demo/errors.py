"""Errors whose message is written for the person using the app.

The UI and the CLI show ``str(error)`` as it is, so messages say what went
wrong and what to do, never how the code failed.
"""


class UserFacingError(Exception):
    """Base class: the message is fit to show to a user."""


class InputError(UserFacingError):
    """The uploaded file or frame cannot be analysed (wrong type, corrupt, too big...)."""


VISITOR_UNAVAILABLE = "This model is unavailable on this server right now; please choose another."


class ModelUnavailableError(UserFacingError):
    """A model's weights are missing or invalid; the message names the fix for whoever runs the
    server (paths, commands: the CLI and the log show it). ``visitor`` says it for a web visitor,
    who can do nothing about a server's folders: no path, no command."""

    def __init__(self, message: str, visitor: str | None = None) -> None:
        super().__init__(message)
        self.visitor = visitor or VISITOR_UNAVAILABLE


class UnknownModelError(UserFacingError, KeyError):
    """No model is registered under that name (a KeyError too, for dict-like callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
