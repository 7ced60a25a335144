"""The reference `AdamWeightDecayOptimizer` as a Keras 3 optimizer.

Replaces AdamWeightDecayOptimizer in google-research/bert's optimization.py:
Adam without bias correction, epsilon outside the square root, decoupled
weight decay, the exclusion patterns matched against the TF1 variable names.
What the reference did around its optimizer is done inside `apply` here,
because `Model.fit` only ever calls `optimizer.apply`: global-norm gradient
clipping, skipping variables whose gradient is None, and (optionally)
gradient accumulation.

Not done here: the learning-rate schedule (schedule.py), checkpoint reading
and writing (the slots are exposed through `slot_variables` for that code),
loss scaling (wrap the optimizer in `keras.optimizers.LossScaleOptimizer`,
as `Model.compile` does under a mixed_float16 policy).
"""

import numbers
import re

import keras
import tensorflow as tf

from bert_tf import distribution
from bert_tf.modeling import fused
from bert_tf.optimization import loss_scale as loss_scale_lib


@keras.saving.register_keras_serializable(package="bert_tf")
class AdamWeightDecay(keras.optimizers.Optimizer):
    """The reference `AdamWeightDecayOptimizer` as a Keras 3 optimizer.

    For each variable with a gradient g (after clipping):
    `m = beta_1 * m + (1 - beta_1) * g`, `v = beta_2 * v + (1 - beta_2) * g^2`,
    `update = m / (sqrt(v) + epsilon)`, plus `weight_decay_rate * param` when
    decay applies, then `param -= lr * update`. There is no bias correction.
    The learning rate is evaluated at `iterations` before its increment.
    For a float32 variable this runs as one XLA kernel whose results are
    bit-identical to the reference's separate ops.

    Decay applies unless one of `exclude_from_weight_decay` is found by
    `re.search` in the variable's reference (TF1) name, e.g. "bias" excludes
    "cls/predictions/output_bias" and also "debias_proj/kernel".

    Gradients:
      * `clip_norm`: all gradients are scaled by
        `clip_norm / max(global_norm, clip_norm)` as `tf.clip_by_global_norm`
        does. An IndexedSlices gradient (from `tf.gather` on an embedding
        table) counts by its values, so a row gathered twice adds
        |g_a|^2 + |g_b|^2 to the squared norm, not |g_a + g_b|^2. The slices
        are then summed into a dense gradient for m and v. Under
        `tf.distribute` the gradients are first summed over replicas (the
        slices gathered, not added), so N replicas clip and update exactly
        as one device on the global batch would, with losses whose sum over
        replicas is the global loss.
      * A None gradient means no update and untouched slots for that
        variable, as in the reference (which created no slots for it; see
        `received_gradient`).
      * `gradient_accumulation_steps` k > 1: the first k - 1 calls of `apply`
        only add up the gradients; the k-th applies their mean (clipped after
        averaging). `iterations`, and so the learning rate, count applied
        updates. Keras's own `gradient_accumulation_steps` is not used: its
        schedule counts micro-batches.

    Under a strategy with several devices, call `build(variables)` inside
    `strategy.scope()` before the first traced step (`Model.fit` does);
    slots created inside a replicated tf.function fail to initialize.

    Args:
      learning_rate: float or a LearningRateSchedule.
      weight_decay_rate: float, the decoupled decay; 0 disables it.
      beta_1: float, decay of the first moment.
      beta_2: float, decay of the second moment.
      epsilon: float, added to sqrt(v).
      exclude_from_weight_decay: list of regex strings or None.
      clip_norm: float or None; the global-norm clip (None: no clipping).
      variable_names: dict mapping `variable.path` to the reference TF1 name
        used for the exclusion patterns; variables not in it use their path.
      gradient_accumulation_steps: int >= 1.
      dynamic_loss_scale: float16 training: `scale_loss` multiplies the
        loss by a dynamic scale and `apply` divides the gradients by it,
        skipping (and counting) updates with inf/NaN gradients; see
        loss_scale.py.
      name: str.
      **kwargs: other `keras.optimizers.Optimizer` arguments. `weight_decay`,
        `global_clipnorm` and `loss_scale_factor` are refused: the arguments
        above replace them.

    Example:
      >>> w = keras.Variable([0.1, -0.2], name="kernel")
      >>> opt = AdamWeightDecay(learning_rate=0.1)
      >>> opt.apply([tf.constant([1.0, -1.0])], [w])
      >>> sorted(opt.slot_variables(w))
      ['adam_m', 'adam_v']
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay_rate=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        exclude_from_weight_decay=None,
        clip_norm=None,
        variable_names=None,
        gradient_accumulation_steps=1,
        dynamic_loss_scale=False,
        name="AdamWeightDecayOptimizer",
        **kwargs,
    ):
        for key in ("weight_decay", "global_clipnorm", "loss_scale_factor"):
            if kwargs.pop(key, None) is not None:
                raise ValueError(
                    f"{type(self).__name__} does not take {key}; use "
                    "weight_decay_rate, clip_norm or LossScaleOptimizer"
                )
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        steps = gradient_accumulation_steps or 1
        if not isinstance(steps, numbers.Integral) or steps < 1:
            raise ValueError(
                "gradient_accumulation_steps="
                f"{gradient_accumulation_steps!r}: expected an integer >= 1"
            )
        self.weight_decay_rate = weight_decay_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_from_weight_decay = (
            None
            if exclude_from_weight_decay is None
            else list(exclude_from_weight_decay)
        )
        self.clip_norm = clip_norm
        self.variable_names = dict(variable_names or {})
        self.accumulation_steps = int(steps)
        self.dynamic_loss_scale = dynamic_loss_scale
        self.loss_scale = None  # a loss_scale.DynamicLossScale after build
        # Indices of variables whose update was traced or run; see
        # received_gradient.
        self._updated_indices = set()

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._adam_m, self._adam_v = self.add_optimizer_variables(
            variables, ["adam_m", "adam_v"]
        )
        # Decided once from the names, so update_step needs only an index
        # (under tf.distribute it sees per-device tf.Variables, not paths).
        self._decay_applies = [self.applies_weight_decay(v) for v in variables]
        if self.accumulation_steps > 1:
            self._accumulators = self.add_optimizer_variables(
                variables, "gradient_accumulator"
            )
            self._micro_steps = self.add_variable(
                shape=(),
                dtype="int64",
                aggregation="only_first_replica",
                name="micro_steps",
            )
            # 1 while every micro-batch of the current update was finite.
            self._window_finite = self.add_variable(
                shape=(),
                dtype="int64",
                initializer="ones",
                aggregation="only_first_replica",
                name="window_finite",
            )
        if self.dynamic_loss_scale:
            self.loss_scale = loss_scale_lib.DynamicLossScale(self)

    def scale_loss(self, loss):
        if self.loss_scale is None:
            return super().scale_loss(loss)
        return self.loss_scale.scale_loss(loss)

    def reference_name(self, variable):
        """The TF1 name of `variable`: from `variable_names`, else its path."""
        path = getattr(variable, "path", None) or variable.name
        # A plain tf.Variable's name ends in ":0"; the reference dropped it.
        return re.sub(r":\d+$", "", self.variable_names.get(path, path))

    def applies_weight_decay(self, variable):
        """The reference's `_do_use_weight_decay` for `variable`'s TF1 name."""
        name = self.reference_name(variable)
        return bool(self.weight_decay_rate) and not self._is_excluded(name)

    def _is_excluded(self, name):
        return any(
            re.search(pattern, name) is not None
            for pattern in self.exclude_from_weight_decay or ()
        )

    def slot_variables(self, variable):
        """The Adam slots of `variable` after `build`.

        Args:
          variable: one of the variables the optimizer was built with.

        Returns:
          dict {"adam_m": keras.Variable, "adam_v": keras.Variable}, the
          tensors the reference saved as "<name>/adam_m" and "<name>/adam_v".
        """
        index = self._get_variable_index(variable)
        return {"adam_m": self._adam_m[index], "adam_v": self._adam_v[index]}

    def received_gradient(self, variable):
        """Whether an update of `variable` was traced or run in this process.

        The reference wrote adam slots only for variables whose gradient was
        not None in the train graph; this is the same test, known once a
        train step has been traced (not restored from checkpoints).
        """
        return self._get_variable_index(variable) in self._updated_indices

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            if not self.built:
                raise ValueError("apply() without variables needs build()")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True
        # Dropped here rather than in Keras, which warns at every step; the
        # reference skipped such variables silently.
        pairs = [
            (g, v)
            for g, v in zip(grads, trainable_variables)
            if g is not None
        ]
        if not pairs:
            raise ValueError(
                "No gradient for any of the variables "
                f"{[self.reference_name(v) for v in trainable_variables]}"
            )
        grads, trainable_variables = (list(x) for x in zip(*pairs))
        grads = distribution.global_sum(grads)
        finite = None
        if self.loss_scale is not None:
            # Checked after the sum, so every replica decides alike.
            grads = self.loss_scale.unscale(grads)
            finite = loss_scale_lib.all_finite(grads)
        if self.accumulation_steps == 1 and finite is None:
            super().apply(self._clip(grads), trainable_variables)
            return
        context = tf.distribute.get_replica_context()
        if context is None:
            raise ValueError("apply() must be called in a replica context")
        # A cond whose branch calls merge_call (as Keras's apply does) is not
        # allowed in a replica context, so the cond runs cross-replica.
        context.merge_call(
            self._accumulate_or_apply,
            args=(grads, trainable_variables, finite),
        )

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Keras's TF backend sums per-replica gradients here, after clipping;
        # apply() has already summed them, before clipping, as one device
        # would see them. Overriding this hook is the only way to keep Keras
        # from summing twice.
        return grads_and_vars

    def _clip(self, grads):
        if self.clip_norm is None:
            return grads
        clipped, _ = tf.clip_by_global_norm(grads, self.clip_norm)
        return clipped

    def _accumulate_or_apply(self, strategy, grads, trainable_variables,
                             finite):
        """Adds the micro-batch's gradients, or applies the update, or skips.

        Runs cross-replica. `finite` is None without loss scaling, else each
        replica's (equal) verdict on the summed gradients.
        """
        if finite is not None:
            finite = strategy.experimental_local_results(finite)[0]
        if self.accumulation_steps == 1:
            self._apply_or_skip(
                strategy, finite, self._apply_clipped, grads, trainable_variables
            )
            return
        accumulators = [
            self._accumulators[self._get_variable_index(v)]
            for v in trainable_variables
        ]
        if finite is not None:
            finite = tf.logical_and(finite, self._window_finite.value > 0)

        def accumulate():
            for grad, accumulator in zip(grads, accumulators):
                strategy.extended.update(
                    accumulator.value, _add_to, args=(grad,), group=False
                )
            if finite is not None:
                self._window_finite.assign(tf.cast(finite, "int64"))

        def apply_mean():
            self._apply_or_skip(
                strategy, finite, self._apply_mean, grads, trainable_variables
            )
            for accumulator in accumulators:
                accumulator.assign(tf.zeros_like(accumulator.value))
            if finite is not None:
                self._window_finite.assign(1)

        is_last = (self._micro_steps + 1) % self.accumulation_steps == 0
        tf.cond(is_last, apply_mean, accumulate)
        self._micro_steps.assign_add(1)

    def _apply_or_skip(self, strategy, finite, apply, grads, variables):
        """`apply` on every replica, unless loss scaling found inf/NaN."""

        def run():
            strategy.extended.call_for_each_replica(apply, args=(grads, variables))

        if finite is None:
            run()
            return

        def skip():
            # A skipped update still counts: the schedule and global_step
            # stay aligned with the data.
            self.iterations.assign_add(1)

        tf.cond(finite, run, skip)
        self.loss_scale.update(finite)

    def _apply_clipped(self, grads, trainable_variables):
        super().apply(self._clip(grads), trainable_variables)

    def _apply_mean(self, grads, trainable_variables):
        mean = []
        for grad, variable in zip(grads, trainable_variables):
            accumulator = self._accumulators[self._get_variable_index(variable)]
            total = accumulator.value + _dense(grad, accumulator.dtype)
            mean.append(total / self.accumulation_steps)
        super().apply(self._clip(mean), trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        self._updated_indices.add(index)
        gradient = _dense(gradient, variable.dtype)
        learning_rate = tf.cast(learning_rate, variable.dtype)
        m, v = self._adam_m[index], self._adam_v[index]
        if self._runs_as_one_kernel(variable):
            hyperparameters = tf.constant(
                [self.beta_1, 1.0 - self.beta_1, self.beta_2,
                 1.0 - self.beta_2, self.epsilon, self.weight_decay_rate],
                tf.float32,
            )
            # Handles, not variables: a tf.function traced with one
            # distributed variable would reuse it for the next of its shape.
            _adam_weight_decay_kernel(
                variable.handle, m.value.handle, v.value.handle, gradient,
                learning_rate, hyperparameters, self._decay_applies[index],
                tf.zeros([], tf.int32),
            )
            return
        # The reference's operation order, which the kernel keeps too.
        next_m = self.beta_1 * m.value + (1.0 - self.beta_1) * gradient
        next_v = self.beta_2 * v.value + (1.0 - self.beta_2) * tf.square(
            gradient
        )
        update = self._direction(next_m, next_v)
        if self._decay_applies[index]:
            update += self.weight_decay_rate * variable
        update_with_lr = self._scale(update, learning_rate, variable, index)
        self.assign(variable, variable - update_with_lr)
        self.assign(m, next_m)
        self.assign(v, next_v)

    def _runs_as_one_kernel(self, variable):
        """Whether `variable`'s update is `_adam_weight_decay_kernel`.

        The kernel's arithmetic is float32's, and without XLA on the host
        (tensorflow-tpu) the same formula runs as plain TF ops.
        """
        return variable.dtype == tf.float32 and fused.xla_runs_on_host()

    def _direction(self, next_m, next_v):
        return next_m / (tf.sqrt(next_v) + self.epsilon)

    def _scale(self, update, learning_rate, variable, index):
        del variable, index  # Used by LAMB's trust ratio.
        return learning_rate * update

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "weight_decay_rate": self.weight_decay_rate,
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "exclude_from_weight_decay": self.exclude_from_weight_decay,
                "clip_norm": self.clip_norm,
                "variable_names": self.variable_names,
                "gradient_accumulation_steps": self.accumulation_steps,
                "dynamic_loss_scale": self.dynamic_loss_scale,
            }
        )
        return config


@tf.function(jit_compile=True, autograph=False)
def _adam_weight_decay_kernel(
    variable_handle, m_handle, v_handle, gradient, learning_rate,
    hyperparameters, decays, zero
):
    """`update_step`'s formula, bit for bit, in one pass over memory.

    As separate TF ops the update reads and writes the parameters, both
    moments and the gradient about ten times; here XLA fuses it into one
    loop (3x faster at BERT-Base). XLA's CPU backend contracts `a * b + c`
    into a fused multiply-add, which rounds once where the reference's ops
    round twice, and has no option to stop it. `_rounded` keeps each
    product a separate, rounded value: OR-ing its bits with `zero`, a
    runtime input, is a no-op XLA cannot see through.
    """

    def _rounded(product):
        bits = tf.bitwise.bitwise_or(tf.bitcast(product, tf.int32), zero)
        return tf.bitcast(bits, tf.float32)

    def read(handle):
        return tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32)

    variable, m, v = read(variable_handle), read(m_handle), read(v_handle)
    beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon, decay_rate = (
        tf.unstack(hyperparameters)
    )
    next_m = _rounded(beta_1 * m) + _rounded(one_minus_beta_1 * gradient)
    next_v = _rounded(beta_2 * v) + _rounded(
        one_minus_beta_2 * tf.square(gradient)
    )
    update = next_m / (tf.sqrt(next_v) + epsilon)
    if decays:
        update += _rounded(decay_rate * variable)
    updates = [
        (variable_handle, variable - _rounded(learning_rate * update)),
        (m_handle, next_m),
        (v_handle, next_v),
    ]
    for handle, value in updates:
        tf.raw_ops.AssignVariableOp(resource=handle, value=value)


def _dense(grad, dtype):
    """A dense gradient; duplicate IndexedSlices rows are summed."""
    if isinstance(grad, tf.IndexedSlices):
        grad = tf.convert_to_tensor(grad)
    return tf.cast(grad, dtype)


def _add_to(accumulator, grad):
    if isinstance(grad, tf.IndexedSlices):
        return accumulator.scatter_add(grad)
    return accumulator.assign_add(grad)
