"""Fused elementwise kernels, with hand-written gradients.

Without them, TF runs GELU, dropout, softmax, LayerNorm and the masked-LM
cross-entropy, and their gradients, as dozens of small memory-bound ops per
layer. Each kernel here compiles its forward pass and its backward pass into
one XLA computation each (`jit_compile` on a small function inside an
otherwise non-XLA step: XLA for the whole step is slower on CPU because the
matmuls leave oneDNN), and computes in float32 whatever the input dtype, as
the reference's float32 math; under mixed precision only the outputs are
rounded. Training uses them all; inference uses `inference_layer_norm` (the
GELU there is fused into the matmul by oneDNN instead), which hands bfloat16
inference on oneDNN CPUs to oneDNN's own LayerNorm (`onednn`). This is the one
modeling module written in TensorFlow rather than `keras.ops`: custom
gradients, `jit_compile` and integer stateless random bits have no
`keras.ops` form.

Layers call one entry point per operation and pass `training`; the entry
point picks the kernel, so the choice is made here and nowhere else:

- `activation`: the fused `gelu` in training, TF's gelu op at inference
  (for the erf `gelu_exact` too).
- `attention_probs`: `softmax_dropout` when training drops anything;
  otherwise oneDNN's bfloat16 softmax (inference only) or a float32 one.
- `add_and_norm` (LayerNorm(dropout(x) + residual)) and `norm_and_dropout`
  (dropout(LayerNorm(x))): `residual_layer_norm`, or `layer_norm` and
  `dropout`, in training; `inference_layer_norm` at inference.
- `biased_cross_entropy`: `softmax_cross_entropy` in training, TF's
  cross-entropy op at inference.

The kernels themselves stay public so that tests can hold each one against
the formula it replaces.

Dropout keeps an element when a 16-bit random integer is at least
round(rate * 65536): one 32-bit Philox word gives two decisions, half the
random-number work of one float per element. The drop probability is
therefore rate rounded to a multiple of 1/65536 (0.1 becomes 0.1000061),
and kept values are scaled by the inverse of the exact keep probability,
so expectations are unchanged. The random bits come from TF's own op,
outside XLA, because XLA's generator is much slower on CPU; the backward
pass reads the same bits instead of a stored mask.
"""

import contextlib
import functools
import math
import threading

import tensorflow as tf

from bert_tf.modeling import activations
from bert_tf.modeling import onednn

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_BIT_RANGE = 1 << 16
_tracing = threading.local()


@contextlib.contextmanager
def plain_tf_ops():
    """Within this block, the kernels trace as plain TF ops, without XLA.

    Same formulas, slower, and no `onednn` ops either. For SavedModels: TF
    Serving, for one, runs XLA-compiled functions only when started with
    --xla_cpu_compilation_enabled, and oneDNN's ops exist only in x86 builds.
    """
    previous = _tracing_plain()
    _tracing.plain = True
    try:
        yield
    finally:
        _tracing.plain = previous


def _tracing_plain():
    """Whether the caller is inside `plain_tf_ops()`."""
    return getattr(_tracing, "plain", False)


def uses_onednn(x, *params):
    """Whether inference on bfloat16 `x` and `params` takes `onednn`'s ops."""
    return not _tracing_plain() and onednn.runs_16bit(x, *params)


# The layers' entry points: one per operation, the kernel chosen by
# `training`. They take a seed generator, not a seed, so that inference
# draws none.


def activation(x, function, training):
    """`function(x)` for a `function` from `activations.get_activation`.

    The original's tanh GELU runs as the `gelu` kernel in training. At
    inference it is TF's gelu op, which oneDNN fuses into the matmul and
    bias add before it when called inside the Dense layer's `call`; so is
    bert_tf's erf GELU (`gelu_exact`) at inference, which in training keeps
    its `keras.ops` formula and that formula's gradient. None is the
    identity; other functions are applied as they are.
    """
    if function is None:
        return x
    if function is activations.gelu_exact and not training:
        return tf.nn.gelu(x, approximate=False)
    if function is not activations.gelu:
        return function(x)
    if training:
        return gelu(x)
    return tf.nn.gelu(x, approximate=True)


def attention_probs(scores, rate, seed_generator, training):
    """dropout(softmax(scores)) over the last axis, the softmax in float32.

    Args:
      scores: float Tensor, attention scores with the mask already added.
      rate: the attention dropout probability.
      seed_generator: a `keras.random.SeedGenerator` for the dropout seed.
      training: whether to drop out.
    """
    if training and rate > 0:
        return softmax_dropout(scores, rate, seed_generator.next())
    if not training and uses_onednn(scores):
        return tf.nn.softmax(scores, axis=-1)  # in float32 inside oneDNN
    probs = tf.nn.softmax(_float32(scores), axis=-1)
    return tf.cast(probs, scores.dtype)


def add_and_norm(x, residual, norm_layer, rate, seed_generator, training):
    """LayerNorm(dropout(x) + residual): a transformer sublayer's output.

    `norm_layer` is the `keras.layers.LayerNormalization` that holds gamma,
    beta and epsilon; its own `call` is never used.
    """
    gamma, beta = norm_layer.gamma.value, norm_layer.beta.value
    if not training:
        return inference_layer_norm(
            x, gamma, beta, norm_layer.epsilon, residual
        )
    return residual_layer_norm(
        x,
        residual,
        gamma,
        beta,
        norm_layer.epsilon,
        rate,
        seed_generator.next(),
    )


def norm_and_dropout(x, norm_layer, rate, seed_generator, training):
    """dropout(LayerNorm(x)): the embeddings' output (see `add_and_norm`)."""
    gamma, beta = norm_layer.gamma.value, norm_layer.beta.value
    if not training:
        return inference_layer_norm(x, gamma, beta, norm_layer.epsilon)
    normalized = layer_norm(x, gamma, beta, norm_layer.epsilon)
    if rate == 0:
        return normalized
    return dropout(normalized, rate, seed_generator.next())


def biased_cross_entropy(logits, bias, labels, training):
    """-log_softmax(logits + bias)[label] per row, float32 [N].

    `logits` [N, V] in any float dtype, `bias` [V], `labels` int32 [N]. In
    training, the `softmax_cross_entropy` kernel, for its cheaper gradient;
    with no gradient to compute, TF's cross-entropy op on the float32 sum.
    """
    if training:
        return softmax_cross_entropy(logits, bias, labels)
    biased = _float32(logits) + _float32(bias)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=biased
    )


def _xla(function):
    compiled = tf.function(function, jit_compile=True, autograph=False)

    def call(*args):
        if _tracing_plain() or not xla_runs_on_host():
            return function(*args)
        return compiled(*args)

    return call


@functools.cache
def xla_runs_on_host():
    """Whether a `jit_compile` function placed on the CPU can run.

    Not with `tensorflow-tpu` (the build TPU VMs need): it links no XLA CPU
    backend ("could not find registered transfer manager for platform
    Host"), so the kernels run as plain TF ops there. Inside a TPU step they
    are compiled with the rest of the step anyway.
    """
    # Asked while a model's call is being traced: run the probe eagerly.
    with tf.init_scope(), tf.device("/CPU:0"):
        probe = tf.function(lambda x: x + 1.0, jit_compile=True)
        try:
            probe(tf.constant(1.0))
        except tf.errors.NotFoundError:
            return False
    return True


def _float32(x):
    return tf.cast(x, tf.float32)


def _keep(bits, threshold):
    return bits >= threshold


def dropout_bits(shape, seed):
    """uint16 random integers of `shape` from a [2] stateless seed."""
    size = tf.reduce_prod(shape)
    words = tf.random.stateless_uniform(
        [(size + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32
    )
    bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
    return tf.reshape(bits, shape)


def dropout_threshold(rate):
    """(uint16 threshold, float32 scale) for a drop probability `rate`."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    threshold = min(round(rate * _BIT_RANGE), _BIT_RANGE - 1)
    scale = _BIT_RANGE / (_BIT_RANGE - threshold)
    return tf.constant(threshold, tf.uint16), tf.constant(scale, tf.float32)


# GELU, tanh approximation, as activations.gelu.


@_xla
def _gelu_forward(x):
    x32 = _float32(x)
    inner = _SQRT_2_OVER_PI * (x32 + 0.044715 * x32 * x32 * x32)
    return tf.cast(0.5 * x32 * (1.0 + tf.tanh(inner)), x.dtype)


@_xla
def _gelu_backward(x, dy):
    x32 = _float32(x)
    square = x32 * x32
    tanh = tf.tanh(_SQRT_2_OVER_PI * (x32 + 0.044715 * square * x32))
    d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * square)
    derivative = 0.5 * (1.0 + tanh) + 0.5 * x32 * (1.0 - tanh * tanh) * d_inner
    return tf.cast(_float32(dy) * derivative, dy.dtype)


@tf.custom_gradient
def gelu(x):
    """The original's tanh GELU; the backward pass recomputes the tanh."""
    return _gelu_forward(x), lambda dy: _gelu_backward(x, dy)


# Dropout.


@_xla
def _dropout_apply(x, bits, threshold, scale):
    kept = tf.where(_keep(bits, threshold), _float32(x) * scale, 0.0)
    return tf.cast(kept, x.dtype)


def dropout(x, rate, seed):
    """Inverted dropout of `x` with 16-bit keep decisions (module doc)."""
    bits = dropout_bits(tf.shape(x), seed)
    threshold, scale = dropout_threshold(rate)

    @tf.custom_gradient
    def apply(x):
        def grad(dy):
            return _dropout_apply(dy, bits, threshold, scale)

        return _dropout_apply(x, bits, threshold, scale), grad

    return apply(x)


# Softmax over the last axis, in float32, then dropout.


@_xla
def _softmax_dropout_forward(scores, bits, threshold, scale):
    probs = tf.nn.softmax(_float32(scores), axis=-1)
    dropped = tf.where(_keep(bits, threshold), probs * scale, 0.0)
    return tf.cast(dropped, scores.dtype), probs


@_xla
def _softmax_dropout_backward(probs, bits, threshold, scale, dy):
    d_probs = tf.where(_keep(bits, threshold), _float32(dy) * scale, 0.0)
    dot = tf.reduce_sum(d_probs * probs, axis=-1, keepdims=True)
    return tf.cast(probs * (d_probs - dot), dy.dtype)


def softmax_dropout(scores, rate, seed):
    """dropout(softmax(scores)): attention probabilities in training."""
    bits = dropout_bits(tf.shape(scores), seed)
    threshold, scale = dropout_threshold(rate)

    @tf.custom_gradient
    def apply(scores):
        dropped, probs = _softmax_dropout_forward(scores, bits, threshold, scale)

        def grad(dy):
            return _softmax_dropout_backward(probs, bits, threshold, scale, dy)

        return dropped, grad

    return apply(scores)


# LayerNorm over the last axis, optionally of dropout(x) + residual.


def _normalize(total, gamma, beta, epsilon):
    mean = tf.reduce_mean(total, axis=-1, keepdims=True)
    centered = total - mean
    variance = tf.reduce_mean(tf.square(centered), axis=-1, keepdims=True)
    inverse_std = tf.math.rsqrt(variance + epsilon)
    normalized = centered * inverse_std
    return normalized * _float32(gamma) + _float32(beta), normalized, inverse_std


def _layer_norm_input_gradient(dy, normalized, inverse_std, gamma):
    dy = _float32(dy)
    d_normalized = dy * _float32(gamma)
    mean_d = tf.reduce_mean(d_normalized, axis=-1, keepdims=True)
    mean_d_dot = tf.reduce_mean(d_normalized * normalized, axis=-1, keepdims=True)
    d_total = inverse_std * (d_normalized - mean_d - normalized * mean_d_dot)
    rows = tf.reshape(normalized, [-1, tf.shape(normalized)[-1]])
    dy_rows = tf.reshape(dy, tf.shape(rows))
    d_gamma = tf.reduce_sum(dy_rows * rows, axis=0)
    d_beta = tf.reduce_sum(dy_rows, axis=0)
    return d_total, d_gamma, d_beta


@_xla
def _layer_norm_forward(x, gamma, beta, epsilon):
    y, normalized, inverse_std = _normalize(_float32(x), gamma, beta, epsilon)
    return tf.cast(y, x.dtype), normalized, inverse_std


@_xla
def _layer_norm_backward(normalized, inverse_std, gamma, beta, dy):
    d_x, d_gamma, d_beta = _layer_norm_input_gradient(
        dy, normalized, inverse_std, gamma
    )
    return (
        tf.cast(d_x, dy.dtype),
        tf.cast(d_gamma, gamma.dtype),
        tf.cast(d_beta, beta.dtype),
    )


def layer_norm(x, gamma, beta, epsilon):
    """LayerNorm of `x` in float32, output in x's dtype."""

    @tf.custom_gradient
    def apply(x, gamma, beta):
        y, normalized, inverse_std = _layer_norm_forward(x, gamma, beta, epsilon)

        def grad(dy):
            return _layer_norm_backward(normalized, inverse_std, gamma, beta, dy)

        return y, grad

    return apply(x, gamma, beta)


@_xla
def _inference_layer_norm(x, residual, gamma, beta, epsilon):
    total = _float32(x) if residual is None else _float32(x) + _float32(residual)
    return tf.cast(_normalize(total, gamma, beta, epsilon)[0], x.dtype)


def inference_layer_norm(x, gamma, beta, epsilon, residual=None):
    """LayerNorm(x [+ residual]) without the values a gradient would need.

    With x, residual, gamma and beta all bfloat16 on a oneDNN CPU, the
    residual is added in bfloat16 (the matmul that produced x absorbs the
    add) and oneDNN normalizes in float32; see `onednn`.
    """
    operands = (gamma, beta) if residual is None else (gamma, beta, residual)
    if not uses_onednn(x, *operands):
        return _inference_layer_norm(x, residual, gamma, beta, epsilon)
    total = x if residual is None else x + residual

    @tf.custom_gradient
    def apply(total, gamma, beta):
        def grad(dy):
            _, normalized, inverse_std = _layer_norm_forward(
                total, gamma, beta, epsilon
            )
            return _layer_norm_backward(normalized, inverse_std, gamma, beta, dy)

        return onednn.layer_norm(total, gamma, beta, epsilon), grad

    return apply(total, gamma, beta)


@_xla
def _residual_layer_norm_forward(
    x, residual, bits, threshold, scale, gamma, beta, epsilon
):
    kept = tf.where(_keep(bits, threshold), _float32(x) * scale, 0.0)
    y, normalized, inverse_std = _normalize(
        kept + _float32(residual), gamma, beta, epsilon
    )
    return tf.cast(y, x.dtype), normalized, inverse_std


@_xla
def _residual_layer_norm_backward(
    normalized, inverse_std, bits, threshold, scale, gamma, beta, dy
):
    d_total, d_gamma, d_beta = _layer_norm_input_gradient(
        dy, normalized, inverse_std, gamma
    )
    d_x = tf.where(_keep(bits, threshold), d_total * scale, 0.0)
    return (
        tf.cast(d_x, dy.dtype),
        tf.cast(d_total, dy.dtype),
        tf.cast(d_gamma, gamma.dtype),
        tf.cast(d_beta, beta.dtype),
    )


def residual_layer_norm(x, residual, gamma, beta, epsilon, rate, seed):
    """LayerNorm(dropout(x) + residual): a sublayer's output in training."""
    if rate == 0:
        return layer_norm(x + residual, gamma, beta, epsilon)
    bits = dropout_bits(tf.shape(x), seed)
    threshold, scale = dropout_threshold(rate)

    @tf.custom_gradient
    def apply(x, residual, gamma, beta):
        y, normalized, inverse_std = _residual_layer_norm_forward(
            x, residual, bits, threshold, scale, gamma, beta, epsilon
        )

        def grad(dy):
            d_x, d_residual, d_gamma, d_beta = _residual_layer_norm_backward(
                normalized, inverse_std, bits, threshold, scale, gamma, beta, dy
            )
            return d_x, tf.cast(d_residual, residual.dtype), d_gamma, d_beta

        return y, grad

    return apply(x, residual, gamma, beta)


# Softmax cross-entropy over a large vocabulary, with the output bias.


@_xla
def _biased_logits(logits, bias):
    return _float32(logits) + _float32(bias)


@_xla
def _cross_entropy_forward(logits, bias, labels):
    biased = _biased_logits(logits, bias)
    peak = tf.reduce_max(biased, axis=-1, keepdims=True)
    log_sum_exp = peak + tf.math.log(
        tf.reduce_sum(tf.exp(biased - peak), axis=-1, keepdims=True)
    )
    at_label = tf.gather(biased, labels[:, None], batch_dims=1)
    return (log_sum_exp - at_label)[:, 0], log_sum_exp


@_xla
def _cross_entropy_backward(logits, bias, labels, log_sum_exp, d_loss):
    biased = _biased_logits(logits, bias)
    one_hot = tf.one_hot(labels, tf.shape(biased)[-1], dtype=tf.float32)
    d_biased = (tf.exp(biased - log_sum_exp) - one_hot) * d_loss[:, None]
    return (
        tf.cast(d_biased, logits.dtype),
        tf.cast(tf.reduce_sum(d_biased, axis=0), bias.dtype),
    )


def softmax_cross_entropy(logits, bias, labels):
    """-log_softmax(logits + bias)[label] per row, float32 [N].

    `logits` [N, V] in any float dtype, `bias` [V], `labels` int32 [N] in
    [0, V) (not checked: XLA clamps an out-of-range index). One kernel each
    way instead of a cast, a bias add, the cross-entropy op and the bias
    gradient's reduction.
    """

    @tf.custom_gradient
    def apply(logits, bias):
        loss, log_sum_exp = _cross_entropy_forward(logits, bias, labels)

        def grad(d_loss):
            return _cross_entropy_backward(logits, bias, labels, log_sum_exp, d_loss)

        return loss, grad

    # The bias may come as its variable: read it here, outside the custom
    # gradient, which must not see a variable used inside it (it would when
    # the kernels run as plain ops, see `xla_runs_on_host`).
    return apply(logits, tf.convert_to_tensor(bias))
