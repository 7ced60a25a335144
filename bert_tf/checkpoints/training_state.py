"""What exact resumption needs beyond the original's checkpoint tensors.

The original's checkpoints hold the weights, the Adam slots and
`global_step`. Restarted from one, training continues with the same weights
and learning rate, but dropout draws from a fresh random stream, so the run
drifts away from an uninterrupted one (a max weight difference of about 0.1
after 8 steps of the tiny model). Here the state of every random-number
generator of the model (one Keras `SeedGenerator` per dropout site) is saved
too, as one int64 tensor [num_generators, 2] named `SEED_STATES`, and so
is the dynamic loss scale of float16 training (`LOSS_SCALE`,
`LOSS_SCALE_GOOD_STEPS`).

The name starts with `bert_tf/`, which no TF1 BERT variable does: Google's
code restores our checkpoints as before (a `tf.train.Saver` or
`init_from_checkpoint` only reads the names it has variables for), and a
checkpoint without the tensor (theirs) restores as before, with fresh
generators.
"""

import numpy as np

from bert_tf import errors
from bert_tf.checkpoints import tf1_checkpoint

SEED_STATES = tf1_checkpoint.BERT_TF_STATE_PREFIX + "seed_generator_states"
LOSS_SCALE = tf1_checkpoint.BERT_TF_STATE_PREFIX + "loss_scale"
LOSS_SCALE_GOOD_STEPS = tf1_checkpoint.BERT_TF_STATE_PREFIX + "loss_scale_good_steps"


def seed_generator_states(model):
    """The state variables of `model`'s SeedGenerators, in a fixed order.

    `model.variables` lists them in the order the layers were built, which
    is the same for every model built from the same config.
    """
    return [
        v for v in model.variables if v.path.endswith("seed_generator_state")
    ]


def _loss_scale_variables(optimizer):
    """{name: variable} of the optimizer's dynamic loss scale, if any."""
    scale = getattr(optimizer, "loss_scale", None)
    if scale is None:
        return {}
    return {LOSS_SCALE: scale.scale, LOSS_SCALE_GOOD_STEPS: scale.good_steps}


def tensors(model, optimizer=None):
    """{name: numpy value} of the resume state of `model` and `optimizer`."""
    values = {
        name: np.asarray(variable.numpy())
        for name, variable in _loss_scale_variables(optimizer).items()
    }
    states = seed_generator_states(model)
    if states:
        values[SEED_STATES] = np.stack([np.asarray(v.numpy()) for v in states])
    return values


def restore(model, prefix, optimizer=None):
    """Restores what `tensors` saved, where the checkpoint at `prefix` has it.

    A checkpoint without it (the original's, or one of a run without
    dropout or float16) leaves the fresh state as it is.

    Raises:
      UserInputError: the checkpoint was saved from a model with another
        number of dropout sites.
    """
    reader = tf1_checkpoint.open_reader(prefix, "output_dir")
    for name, variable in _loss_scale_variables(optimizer).items():
        if reader.has_tensor(name):
            variable.assign(reader.get_tensor(name))
    if not reader.has_tensor(SEED_STATES):
        return
    saved = reader.get_tensor(SEED_STATES)
    states = seed_generator_states(model)
    if saved.shape != (len(states), 2):
        raise errors.UserInputError(
            f"checkpoint {prefix!r}: {SEED_STATES} has shape {saved.shape}, "
            f"but the model has {len(states)} random generators; it was "
            "written by another model"
        )
    for variable, value in zip(states, saved):
        variable.assign(value.astype(variable.dtype))
