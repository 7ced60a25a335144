"""The warmup + linear-decay learning rate of the reference create_optimizer.

Only the schedule; the optimizer that reads it is in adam_weight_decay.py.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bert_tf")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear decay to 0 from step 0, overridden by a linear warmup.

    For step s (the optimizer's `iterations` before the update, as the
    reference read `global_step` before its increment):
    `init_lr * (1 - min(s, num_train_steps) / num_train_steps)`, except
    `init_lr * s / num_warmup_steps` while `s < num_warmup_steps`. The decay
    does not restart after warmup, so the first update (s = 0) has lr 0
    whenever there is warmup. The float32 operations are those the reference
    graph ran, so the values agree bit for bit (within 1 ulp under XLA,
    which may fuse them).

    Args:
      init_lr: float, the peak learning rate.
      num_train_steps: int > 0, the step at which the rate reaches 0.
      num_warmup_steps: int or None; 0 or None means no warmup.

    Example:
      >>> schedule = WarmupLinearDecay(0.1, num_train_steps=10,
      ...                              num_warmup_steps=3)
      >>> [round(float(schedule(s)), 4) for s in (0, 1, 3, 9, 10, 11)]
      [0.0, 0.0333, 0.07, 0.01, 0.0, 0.0]
    """

    def __init__(self, init_lr, num_train_steps, num_warmup_steps=None):
        # Plain Python numbers, so that get_config is JSON-serializable.
        self.init_lr = float(init_lr)
        self.num_train_steps = int(num_train_steps)
        self.num_warmup_steps = (
            None if num_warmup_steps is None else int(num_warmup_steps)
        )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        init_lr = ops.convert_to_tensor(self.init_lr, "float32")
        # The reference's TF1 graph had its divisions by constant step counts
        # rewritten by Grappler into products with the float32 reciprocal;
        # so do we, or e.g. lr(9 of 10) is 1 ulp off (9 * 0.1f != 9 / 10f).
        decay_steps = float(self.num_train_steps)
        inverse = ops.convert_to_tensor(1.0 / decay_steps, "float32")
        # polynomial_decay(power=1, end_learning_rate=0, cycle=False).
        done = ops.multiply(ops.minimum(step, decay_steps), inverse)
        lr = ops.multiply(init_lr, ops.subtract(1.0, done))
        if self.num_warmup_steps:
            warmup_steps = float(self.num_warmup_steps)
            inverse = ops.convert_to_tensor(1.0 / warmup_steps, "float32")
            warmup_lr = ops.multiply(init_lr, ops.multiply(step, inverse))
            lr = ops.where(step < warmup_steps, warmup_lr, lr)
        return lr

    def get_config(self):
        return {
            "init_lr": self.init_lr,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
        }
