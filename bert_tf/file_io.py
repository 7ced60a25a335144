"""File access through `tf.io.gfile`, so `gs://` paths work as in the original.

The original used `tf.gfile`; every module that touches files goes through
here. Outputs are written to a temporary name and renamed into place, so a
failed run never leaves a half-written file under the final name.
"""

import contextlib
import os
import uuid

import tensorflow as tf

from bert_tf import errors


def expand_patterns(patterns, what="--input_file"):
    """Expands a comma-separated list of globs, in the original's order.

    Args:
      patterns: str like "a/*.txt,b.txt"; each item is globbed separately and
        the matches of each item are kept in `tf.io.gfile.glob` order.
      what: the flag or argument name used in the error message.

    Returns:
      list of file paths.

    Raises:
      UserInputError: if the whole list matches no file.
    """
    files = []
    for pattern in patterns.split(","):
        pattern = pattern.strip()
        if pattern:
            files.extend(tf.io.gfile.glob(pattern))
    if not files:
        raise errors.UserInputError(f"{what}={patterns!r} matches no file")
    return files


def require_file(path, what):
    """Raises UserInputError naming `what` unless `path` is an existing file."""
    if not path or not tf.io.gfile.exists(path):
        raise errors.UserInputError(f"{what}={path!r}: file not found")
    if tf.io.gfile.isdir(path):
        raise errors.UserInputError(f"{what}={path!r} is a directory, expected a file")
    return path


def open_text(path, mode="r"):
    """Opens a text file (UTF-8) through gfile."""
    return tf.io.gfile.GFile(path, mode)


def makedirs(path):
    tf.io.gfile.makedirs(path)


def exists(path):
    return tf.io.gfile.exists(path)


def temporary_name(path):
    """A sibling name for `path` that `commit` later renames to `path`."""
    directory, base = os.path.split(path)
    return os.path.join(directory, f".{base}.tmp-{uuid.uuid4().hex[:8]}")


def commit(temporary, path):
    tf.io.gfile.rename(temporary, path, overwrite=True)


def discard(temporary):
    if tf.io.gfile.exists(temporary):
        tf.io.gfile.remove(temporary)


@contextlib.contextmanager
def atomic_outputs(paths):
    """Yields temporary names for `paths`; renames them all on success.

    On any exception every temporary file is removed and no final name is
    created or replaced.
    """
    temporaries = [temporary_name(p) for p in paths]
    try:
        yield temporaries
    except BaseException:
        for t in temporaries:
            discard(t)
        raise
    for t, p in zip(temporaries, paths):
        commit(t, p)


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Opens `path` for writing under a temporary name; renames on success."""
    with atomic_outputs([path]) as (temporary,):
        with tf.io.gfile.GFile(temporary, mode) as f:
            yield f
