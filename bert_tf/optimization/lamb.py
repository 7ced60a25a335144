"""LAMB on top of the reference optimizer's clipping, names and slots.

Not in google-research/bert; offered behind `create_optimizer(...,
optimizer_type="lamb")` for large-batch pretraining.
"""

import keras
import tensorflow as tf

from bert_tf.optimization import adam_weight_decay


@keras.saving.register_keras_serializable(package="bert_tf")
class Lamb(adam_weight_decay.AdamWeightDecay):
    """LAMB (You et al. 2019): bias-corrected Adam scaled per variable.

    The direction is `m_hat / (sqrt(v_hat) + epsilon)` with
    `m_hat = m / (1 - beta_1^t)`, `v_hat = v / (1 - beta_2^t)` and t the
    number of applied updates including this one, plus the weight decay
    term. The step is then multiplied by the trust ratio
    `||param|| / ||update||` (1.0 when either norm is 0). Variables excluded
    from weight decay are also excluded from the trust ratio (ratio 1.0).
    Everything else (clipping, names, slots, accumulation) is as in
    AdamWeightDecay.
    """

    def __init__(self, *args, name="LAMBOptimizer", **kwargs):
        super().__init__(*args, name=name, **kwargs)

    def _runs_as_one_kernel(self, variable):
        del variable  # The trust ratio is not in the kernel.
        return False

    def _direction(self, next_m, next_v):
        # update_step runs before the base class increments iterations.
        t = tf.cast(self.iterations + 1, next_m.dtype)
        m_hat = next_m / (1.0 - tf.pow(self.beta_1, t))
        v_hat = next_v / (1.0 - tf.pow(self.beta_2, t))
        return m_hat / (tf.sqrt(v_hat) + self.epsilon)

    def _scale(self, update, learning_rate, variable, index):
        update_with_lr = learning_rate * update
        name = self.reference_name(self._trainable_variables[index])
        if self._is_excluded(name):
            return update_with_lr
        weight_norm = tf.norm(variable)
        update_norm = tf.norm(update)
        both_positive = tf.logical_and(weight_norm > 0, update_norm > 0)
        # tf.where picks 1.0 where a norm is 0, so the inf/nan is never used.
        ratio = tf.where(both_positive, weight_norm / update_norm, 1.0)
        return ratio * update_with_lr
