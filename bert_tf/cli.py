"""What every top-level script shares: one-line errors instead of tracebacks,
and the flag checks its library `run` repeats for library callers."""

import functools
import sys

from bert_tf import distribution
from bert_tf import errors
from bert_tf import optimization


def exits_on_user_error(main):
    """Wraps a script's `main(argv)`: bad input exits 1 with one line."""

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except errors.UserInputError as e:
            sys.exit(f"ERROR: {e}")

    return wrapper


def require_positive(params, names):
    """Raises UserInputError for the first flag in `names` below 1.

    Args:
      params: a script's params dataclass (attributes named as its flags).
      names: the flag names to check, in the order they are reported.
    """
    for name in names:
        value = getattr(params, name)
        if value < 1:
            raise errors.UserInputError(
                f"--{name}={value}: expected a positive integer"
            )


def check_runner_settings(params):
    """--optimizer and --precision of a runner, before any work starts."""
    if params.optimizer not in optimization.OPTIMIZER_TYPES:
        raise errors.UserInputError(
            f"--optimizer={params.optimizer!r}: expected "
            + " or ".join(map(repr, optimization.OPTIMIZER_TYPES))
        )
    distribution.resolve_precision(params.precision)
