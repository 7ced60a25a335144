"""The reference optimizer on Keras 3: schedule, AdamW, LAMB, create_optimizer.

Replaces optimization.py in google-research/bert. `create_optimizer` builds
the warmup + linear-decay learning rate (schedule.py) and an Adam variant
that reproduces `AdamWeightDecayOptimizer` step for step
(adam_weight_decay.py). LAMB (lamb.py) and gradient accumulation are
available behind arguments and are off by default.

Example:
  >>> optimizer = create_optimizer(5e-5, num_train_steps=1000,
  ...                              num_warmup_steps=100)
  >>> type(optimizer).__name__, optimizer.weight_decay_rate
  ('AdamWeightDecay', 0.01)
"""

import numbers

from bert_tf import errors
from bert_tf.optimization.adam_weight_decay import AdamWeightDecay
from bert_tf.optimization.lamb import Lamb
from bert_tf.optimization.schedule import WarmupLinearDecay

# The reference's create_optimizer passes exactly these patterns.
DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")

_OPTIMIZERS = {"adamw": AdamWeightDecay, "lamb": Lamb}
# The values of the runners' --optimizer flag.
OPTIMIZER_TYPES = tuple(_OPTIMIZERS)

__all__ = [
    "AdamWeightDecay",
    "DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY",
    "Lamb",
    "OPTIMIZER_TYPES",
    "WarmupLinearDecay",
    "check_optimizer_type",
    "create_optimizer",
]


def create_optimizer(
    init_lr,
    num_train_steps,
    num_warmup_steps,
    optimizer_type="adamw",
    weight_decay_rate=0.01,
    variable_names=None,
    gradient_accumulation_steps=1,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-6,
    exclude_from_weight_decay=DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    clip_norm=1.0,
    dynamic_loss_scale=False,
):
    """The reference's create_optimizer, returning a Keras optimizer.

    Replaces optimization.create_optimizer in google-research/bert, without
    its loss and `use_tpu` arguments: the optimizer clips the gradients
    Keras computed (global norm 1.0) and leaves None gradients alone. Its
    `iterations` counter is the reference's `global_step`.

    Args:
      init_lr: float, the peak learning rate.
      num_train_steps: int > 0, total number of applied updates.
      num_warmup_steps: int >= 0 or None.
      optimizer_type: "adamw" (the reference) or "lamb".
      weight_decay_rate, beta_1, beta_2, epsilon: floats, as the reference.
      variable_names: dict `variable.path` -> reference TF1 name, used by the
        exclusion patterns (and by the checkpoint code).
      gradient_accumulation_steps: int >= 1; micro-batches per update.
      exclude_from_weight_decay: list of regex strings.
      clip_norm: float or None.
      dynamic_loss_scale: for float16 training (see loss_scale.py).

    Returns:
      AdamWeightDecay or Lamb, with a WarmupLinearDecay learning rate.

    Raises:
      UserInputError: if a step count or optimizer_type is invalid.
    """
    _check_arguments(
        num_train_steps, num_warmup_steps, gradient_accumulation_steps,
        optimizer_type,
    )
    schedule = WarmupLinearDecay(init_lr, num_train_steps, num_warmup_steps)
    return _OPTIMIZERS[optimizer_type](
        learning_rate=schedule,
        weight_decay_rate=weight_decay_rate,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        exclude_from_weight_decay=exclude_from_weight_decay,
        clip_norm=clip_norm,
        variable_names=variable_names,
        gradient_accumulation_steps=gradient_accumulation_steps,
        dynamic_loss_scale=dynamic_loss_scale,
    )


def _check_arguments(
    num_train_steps, num_warmup_steps, gradient_accumulation_steps,
    optimizer_type,
):
    if not _is_int(num_train_steps) or num_train_steps < 1:
        raise errors.UserInputError(
            f"num_train_steps={num_train_steps!r}: expected an integer >= 1"
        )
    if num_warmup_steps is not None and num_warmup_steps < 0:
        raise errors.UserInputError(
            f"num_warmup_steps={num_warmup_steps!r}: expected >= 0"
        )
    if (
        not _is_int(gradient_accumulation_steps)
        or gradient_accumulation_steps < 1
    ):
        raise errors.UserInputError(
            "gradient_accumulation_steps="
            f"{gradient_accumulation_steps!r}: expected an integer >= 1"
        )
    check_optimizer_type(optimizer_type)


def check_optimizer_type(optimizer_type, what="optimizer_type"):
    """Raises UserInputError naming `what` unless it is an OPTIMIZER_TYPES."""
    if optimizer_type not in OPTIMIZER_TYPES:
        raise errors.UserInputError(
            f"{what}={optimizer_type!r}: expected "
            + " or ".join(map(repr, OPTIMIZER_TYPES))
        )


def _is_int(value):
    # numpy integers count (step counts are often computed with numpy).
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
