"""Dynamic loss scaling for float16 training, as AdamWeightDecay uses it.

float16 gradients of small losses underflow to zero. The loss is therefore
multiplied by a scale before the gradients are taken and the gradients are
divided by it before the update. The scale starts at 2**15; an update whose
gradients hold an inf or a NaN is skipped and halves the scale, and every
2000 updates in a row without one double it (Keras's LossScaleOptimizer
rule). A skipped update still counts as a global step, so the learning-rate
schedule and the checkpoints' `global_step` stay aligned with the data,
which exact resumption needs.

Not used under bfloat16 or float32, which have float32's exponent range.
"""

import keras
import tensorflow as tf

INITIAL_SCALE = 2.0**15
GROWTH_STEPS = 2000


class DynamicLossScale:
    """The scale and its count of good updates, as optimizer variables.

    Args:
      optimizer: the Keras optimizer that owns the variables (they are
        created with its `add_variable`, so they live where its slots live).
    """

    def __init__(self, optimizer):
        self.scale = optimizer.add_variable(
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(INITIAL_SCALE),
            aggregation="only_first_replica",
            name="loss_scale",
        )
        self.good_steps = optimizer.add_variable(
            shape=(),
            dtype="int64",
            aggregation="only_first_replica",
            name="loss_scale_good_steps",
        )

    def scale_loss(self, loss):
        return loss * tf.cast(self.scale.value, loss.dtype)

    def unscale(self, grads):
        """The gradients divided by the scale (None stays None)."""
        inverse = 1.0 / self.scale.value
        return [_multiply(g, inverse) for g in grads]

    def update(self, finite):
        """After an update: halve on inf/NaN, double after a good run."""
        good_steps = tf.where(finite, self.good_steps.value + 1, 0)
        grow = good_steps >= GROWTH_STEPS
        scale = self.scale.value
        self.scale.assign(
            tf.where(finite, tf.where(grow, scale * 2.0, scale),
                     tf.maximum(scale / 2.0, 1.0))
        )
        self.good_steps.assign(tf.where(grow, tf.zeros_like(good_steps), good_steps))


def all_finite(grads):
    """Whether no gradient holds an inf or a NaN (None gradients ignored)."""
    checks = [
        tf.reduce_all(tf.math.is_finite(
            g.values if isinstance(g, tf.IndexedSlices) else g
        ))
        for g in grads
        if g is not None
    ]
    return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


def _multiply(grad, factor):
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(
            grad.values * tf.cast(factor, grad.values.dtype),
            grad.indices, grad.dense_shape,
        )
    return grad * tf.cast(factor, grad.dtype)
