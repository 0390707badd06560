"""The one error type a user sees: a clear line, exit code 2, no traceback."""


class CtlabelError(Exception):
    """Bad input or an unusable resource; the message is shown to the user as one line."""

    exit_code = 2
