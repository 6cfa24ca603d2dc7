"""The error every tsur command reports as one line (exit code 1): a failure an operator can act on."""


class CommandError(Exception):
    """A failure an operator can act on: printed as one line, exit code 1."""
