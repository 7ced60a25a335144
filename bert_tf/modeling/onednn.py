"""oneDNN's CPU LayerNorm and softmax for 16-bit inference.

In TF's x86 builds every matmul already runs through oneDNN. Two more of its
kernels make bfloat16 inference faster, and neither has a public TF name or
switch:

- `_MklLayerNorm`: statistics and normalization in float32, output rounded
  once; about 2.5x faster here than the XLA kernel in `fused` (0.18 vs
  0.43 ms per LayerNorm at BERT-Base shape). Its inputs must all have
  the same dtype, so it is used only when gamma and beta are already
  bfloat16 (bfloat16 variables); the residual is then added in bfloat16 by
  the matmul before it, which rounds the sum once.
- oneDNN's softmax, which TF runs for `tf.nn.softmax` when oneDNN is on: for
  bfloat16 input it computes in float32 and rounds the output once, the
  same values as a cast, a float32 softmax and a cast back, without the two
  casts.

`available()` says whether this process runs them: an x86-64 oneDNN build
with oneDNN enabled and no GPU or TPU that would take the ops. Everything
else keeps the portable path: eager calls, functions that XLA compiles, and
tracing under `fused.plain_tf_ops()` (SavedModels must load on any build).
Callers ask `fused.uses_onednn`, which checks all of it.
"""

import functools
import platform

import tensorflow as tf

# No public API says whether the graph being traced is XLA-compiled
# (jit_compile=True, here or in an enclosing function).
from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext

_X86_64 = ("x86_64", "amd64")


@functools.cache
def available():
    if platform.machine().lower() not in _X86_64:
        return False
    if tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices(
        "TPU"
    ):
        return False
    try:
        # No public API reports whether oneDNN's rewrites are on
        # (TF_ENABLE_ONEDNN_OPTS and the build decide).
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def runs_16bit(x, *params):
    """Whether `x` and `params` (all bfloat16) can take the oneDNN path now."""
    return (
        all(v.dtype == tf.bfloat16 for v in (x, *params))
        and not tf.executing_eagerly()
        # The graph being traced; TF 2 has no public name for it.
        and not GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
        and available()
    )


def layer_norm(x, gamma, beta, epsilon):
    """LayerNorm over the last axis of a rank-2 or rank-3 `x`, by oneDNN.

    The op has no gradient; `fused.inference_layer_norm` supplies one.
    """
    x, gamma, beta = (tf.convert_to_tensor(v) for v in (x, gamma, beta))
    # The op is internal to TF's oneDNN build and has no TF 2 wrapper;
    # Graph.create_op is the public way to add an op by name.
    op = tf.compat.v1.get_default_graph().create_op(
        "_MklLayerNorm",
        [x, gamma, beta],
        [x.dtype],
        name="layer_norm",
        attrs={
            "T": tf.compat.v1.AttrValue(type=x.dtype.as_datatype_enum),
            "epsilon": tf.compat.v1.AttrValue(f=epsilon),
        },
    )
    return op.outputs[0]
