"""The error bert_tf raises for bad user input, two checks, and Ctrl-C.

It imports nothing, so that every module, tensor code or not, can raise it.
The scripts turn `UserInputError` into a one-line `ERROR: ...` message and
exit status 1, and an interrupt into one line and exit status 130.
"""


class UserInputError(ValueError):
    """Bad input from the user: the message is meant to be shown as is.

    The message names the flag, file or value and what was expected, e.g.
    `--max_seq_length=600: cannot use sequence length 600 because ...`.
    """



class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where a rerun resumes."""


def require_positive(params, names):
    """Raises UserInputError for the first of `names` whose value is below 1.

    Args:
      params: a script's params dataclass (attributes named as its flags).
      names: the flag names to check, in the order they are reported.
    """
    for name in names:
        value = getattr(params, name)
        if value < 1:
            raise UserInputError(f"--{name}={value}: expected a positive integer")


def require_set(params, names):
    """Raises UserInputError for the first of `names` that is unset or empty.

    The scripts mark these flags required; library callers get the same
    check.
    """
    for name in names:
        if not getattr(params, name):
            raise UserInputError(f"--{name} is required")
