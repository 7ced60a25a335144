"""model.safetensors through the `safetensors` package's numpy API.

`safetensors` is an optional dependency (`pip install bert_tf[hf]`): only
the Hugging Face converter needs it, so it is imported when a file is
opened, and its absence is one line naming the extra. Its numpy API reads
bfloat16 and float16 tensors as `ml_dtypes` / numpy arrays, one tensor at a
time, and needs no PyTorch.

The package reads and writes local files only; a `gs://` (or other
`tf.io.gfile`) path is copied to or from a local temporary file.

Not here: which tensor is which (`hf_names`).
"""

import contextlib
import os
import shutil
import tempfile

import tensorflow as tf

from bert_tf import errors
from bert_tf import file_io

INSTALL_HINT = "pip install 'bert_tf[hf]' (or: pip install safetensors)"
# What transformers checks before loading a file: the tensors are laid out
# as PyTorch's modules hold them.
METADATA = {"format": "pt"}


def _safetensors():
    # Imported here, not at the top: the rest of bert_tf must work without
    # the optional package, and the error must say how to install it.
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise errors.UserInputError(
            f"reading and writing model.safetensors needs the safetensors "
            f"package: {INSTALL_HINT}"
        ) from None
    return safetensors


def _is_local(path):
    return "://" not in path


@contextlib.contextmanager
def _local_copy(path):
    """`path`, or a local temporary copy of a remote one."""
    if _is_local(path):
        yield path
        return
    directory = tempfile.mkdtemp(prefix="bert_tf_safetensors_")
    local = os.path.join(directory, os.path.basename(path))
    try:
        tf.io.gfile.copy(path, local)
        yield local
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class SafetensorsReader:
    """A model.safetensors opened lazily: shapes first, tensors one by one.

    Use as a context manager:

        with SafetensorsReader(path, "--hf_dir") as reader:
            reader.shapes  # {key: shape tuple}, nothing read yet
            reader.get("pooler.dense.weight")  # numpy array
    """

    def __init__(self, path, what):
        self.path = path
        self.what = what
        self._stack = contextlib.ExitStack()
        self._file = None
        self.shapes = {}
        self.dtypes = {}

    def __enter__(self):
        safetensors = _safetensors()
        local = self._stack.enter_context(_local_copy(self.path))
        try:
            # pread, not a memory map: each tensor is read into its own
            # array, and the file is never mapped into the process.
            self._file = self._stack.enter_context(
                safetensors.safe_open(local, framework="numpy", backend="pread")
            )
            for key in self._file.keys():
                view = self._file.get_slice(key)
                self.shapes[key] = tuple(view.get_shape())
                self.dtypes[key] = view.get_dtype()
        except (safetensors.SafetensorError, OSError) as e:
            self._stack.close()
            raise errors.UserInputError(
                f"{self.what}: cannot read {self.path} ({_first_line(e)})"
            ) from None
        return self

    def metadata(self):
        return self._file.metadata() or {}

    def get(self, key):
        """The numpy array of `key` (bfloat16 as `ml_dtypes.bfloat16`)."""
        return self._file.get_tensor(key)

    def __exit__(self, *exc_info):
        self._stack.close()


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def write(path, tensors):
    """Writes {key: numpy array} to `path` (local or remote), atomically.

    The arrays are written from their own memory, with no serialized copy.
    """
    safetensors_numpy = _safetensors().numpy
    with file_io.atomic_outputs([path]) as (temporary,):
        with _local_output(temporary) as local:
            safetensors_numpy.save_file(tensors, local, metadata=METADATA)


@contextlib.contextmanager
def _local_output(path):
    """A local file name whose content ends up at `path`."""
    if _is_local(path):
        yield path
        return
    directory = tempfile.mkdtemp(prefix="bert_tf_safetensors_")
    local = os.path.join(directory, "model.safetensors")
    try:
        yield local
        tf.io.gfile.copy(local, path, overwrite=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
