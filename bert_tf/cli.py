"""What every top-level script shares: one-line errors instead of tracebacks."""

import functools
import sys

from bert_tf import file_io


def exits_on_user_error(main):
    """Wraps a script's `main(argv)`: bad input exits 1 with one line."""

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except file_io.UserInputError as e:
            sys.exit(f"ERROR: {e}")

    return wrapper
