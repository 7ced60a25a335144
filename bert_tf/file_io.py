"""File access through `tf.io.gfile`, so `gs://` paths work as in the original.

The original used `tf.gfile`; every module that touches files goes through
here. Outputs are written to a temporary name and renamed into place, so a
failed run never leaves a half-written file under the final name; the
temporaries of a killed run are removed by the next
(`remove_stale_temporaries`). `require_writable` checks output paths before
any work.

Every function here works on the filesystems other than local disk, whose
`exists` and `isdir` are true for any prefix of a path (ram://); the tests
use ram://.
"""

import contextlib
import os
import re
import uuid

import tensorflow as tf
from absl import logging

from bert_tf import errors


# What stat() raises for a path that does not exist; local disk says
# FailedPrecondition ("Not a directory") for a path under a regular file.
_MISSING = (tf.errors.NotFoundError, tf.errors.FailedPreconditionError)


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


def is_file(path):
    """Whether `path` is an existing file (not a directory).

    One `stat`, not `exists`: on filesystems other than local disk (ram://,
    object stores) `exists` and `isdir` are true for any prefix of a path.
    """
    try:
        return not tf.io.gfile.stat(path).is_directory
    except _MISSING:
        return False


def _parent(path):
    """The directory above `path`; None at "/", ".", "gs://bucket", "ram://x"."""
    stripped = path.rstrip("/")
    scheme, _, rest = stripped.rpartition("://")
    if stripped in ("", ".") or (scheme and "/" not in rest):
        return None
    return os.path.dirname(stripped) or "."


def _is_directory(path):
    # Elsewhere than on local disk isdir() is true for any prefix of a path
    # (ram://), so a directory there must have entries to count.
    if not tf.io.gfile.isdir(path) or is_file(path):
        return False
    return "://" not in path or bool(tf.io.gfile.listdir(path))


def require_writable(path, what, directory=False):
    """Checks, creating nothing, that `path` can be written.

    `path` is a file to create or replace, or with `directory` a directory
    to create or write into. Walking up from it, the first path that exists
    must be a directory (not a regular file) and, on local disk, writable,
    so a run fails before any work instead of at its first write.

    Args:
      path: the file or directory.
      what: the flag, e.g. "--output_file", for the message.
      directory: whether `path` is a directory.

    Raises:
      UserInputError: naming `what`, `path` and the file in the way.
    """
    if not path:
        raise errors.UserInputError(f"{what} is empty")
    if not directory and _is_directory(path):
        raise errors.UserInputError(
            f"{what}={path!r} is a directory, expected a file name")
    current = path if directory else (_parent(path) or ".")
    while current is not None:
        try:
            is_directory = tf.io.gfile.stat(current).is_directory
        except _MISSING:
            current = _parent(current)
            continue
        if not is_directory:
            raise errors.UserInputError(
                f"{what}={path!r}: {current} is a file, not a directory")
        if "://" not in current and not os.access(current, os.W_OK | os.X_OK):
            raise errors.UserInputError(
                f"{what}={path!r}: directory {current} is not writable")
        return


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


def remove_stale_temporaries(path, suffixes=("",)):
    """Removes the temporaries of `path` that killed runs left behind.

    Only names `temporary_name(path)` gives (plus one of `suffixes`) are
    removed, nothing else in the directory; each removal is logged. Call it
    before writing `path`, never while another run may be writing it.

    Returns:
      the removed paths.
    """
    directory, base = os.path.split(path)
    return _remove_matching(directory, re.compile(
        rf"\.{re.escape(base)}\.tmp-[0-9a-f]{{8}}"
        rf"({'|'.join(re.escape(s) for s in suffixes)})"
    ))


def remove_stale_temporaries_in(directory):
    """Removes every `temporary_name` file in `directory`, of any output.

    Checkpoint temporaries carry `.index` / `.data-*` after the name, and
    TensorFlow's own writer a `.tempstate<digits>` after that until it
    renames them. Only for a directory that this run holds alone
    (`runner_settings.running`).

    Returns:
      the removed paths.
    """
    return _remove_matching(directory, re.compile(
        r"\..+\.tmp-[0-9a-f]{8}(\.index|\.data-\d{5}-of-\d{5})?"
        r"(\.tempstate\d+)?"
    ))


def _remove_matching(directory, pattern):
    try:
        names = tf.io.gfile.listdir(directory or ".")
    except tf.errors.NotFoundError:
        return []
    removed = []
    for name in sorted(names):
        if pattern.fullmatch(name.rstrip("/")):
            stale = os.path.join(directory, name)
            logging.info("Removing %s, left by a run that was killed", stale)
            tf.io.gfile.remove(stale)
            removed.append(stale)
    return removed


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
