"""Tests for bert_tf.optimization against the reference optimizer trace.

The golden trace (tests/testdata/optimizer) is 12 steps of the reference
create_optimizer(init_lr=0.1, num_train_steps=10, num_warmup_steps=3) on a
small loss; every variable and slot is compared after every step. LAMB and
gradient accumulation have no reference, so they are checked against worked
examples.
"""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf import errors
from bert_tf import optimization
from bert_tf.distribution import dtype_policy
from bert_tf.modeling import fused

_TESTDATA = os.path.join(os.path.dirname(__file__), "testdata", "optimizer")
_ABS = 1e-6  # the fixture's tolerance for variables and slots
_LR_ABS = 1e-8


def _load_trace():
    with open(os.path.join(_TESTDATA, "optimizer_trace.json")) as f:
        return json.load(f)


TRACE = _load_trace()


class _TraceProblem:
    """The fixture's loss, written in TF2, with Keras variables.

    Keras names cannot hold "/", so each variable is named with "_" and the
    TF1 name reaches the optimizer through `variable_names`, as the
    checkpoint code will provide it.
    """

    def __init__(self, strategy):
        initial = TRACE["initial_values"]
        self.names = TRACE["trainable_variables_in_order"]
        with strategy.scope():
            self.variables = {
                name: keras.Variable(
                    np.array(initial[name], np.float32),
                    name=name.replace("/", "_"),
                )
                for name in self.names
            }
            self.frozen = keras.Variable(
                np.array(initial["frozen/kernel"], np.float32),
                name="frozen_kernel",
                trainable=False,
            )
            self.optimizer = optimization.create_optimizer(
                init_lr=0.1,
                num_train_steps=10,
                num_warmup_steps=3,
                variable_names={
                    v.path: name for name, v in self.variables.items()
                },
            )
            self.optimizer.build(self.trainable)
        constants = TRACE["constants"]
        self.x = tf.constant(constants["x"], tf.float32)
        self.ids = tf.constant(constants["ids"], tf.int32)
        self.target = tf.constant(constants["target"], tf.float32)

    @property
    def trainable(self):
        return [self.variables[name] for name in self.names]

    def loss(self):
        v = {name: var.value for name, var in self.variables.items()}
        h = tf.matmul(self.x, v["layer/dense/kernel"]) + v["layer/dense/bias"]
        # A gather, so the table's gradient is IndexedSlices, as in BERT.
        h += tf.gather(v["embeddings/word_embeddings"], self.ids)
        h = h * v["layer/LayerNorm/gamma"] + v["layer/LayerNorm/beta"]
        h = tf.tanh(h) * v["head/layer_norm_scale"]
        h += v["debias_proj/kernel"] * self.frozen.value
        logits = tf.matmul(h, v["output_weights"], transpose_b=True)
        logits += v["output_bias"]
        return 1.0 * tf.reduce_mean(tf.square(logits - self.target))

    def step(self):
        """One train step; returns (lr, loss, global norm, dense grads)."""
        learning_rate = self.optimizer.learning_rate
        with tf.GradientTape() as tape:
            loss = self.loss()
        grads = tape.gradient(loss, [v.value for v in self.trainable])
        table = self.names.index("embeddings/word_embeddings")
        assert isinstance(grads[table], tf.IndexedSlices)
        norm = tf.linalg.global_norm([g for g in grads if g is not None])
        self.optimizer.apply(grads, self.trainable)
        dense = [None if g is None else tf.convert_to_tensor(g) for g in grads]
        return learning_rate, loss, norm, dense

    def state(self):
        """Every variable and slot by its TF1 checkpoint name."""
        values = {"frozen/kernel": self.frozen.numpy()}
        for name, variable in self.variables.items():
            values[name] = variable.numpy()
            if self.optimizer.received_gradient(variable):
                for slot, var in self.optimizer.slot_variables(
                    variable
                ).items():
                    values[f"{name}/{slot}"] = var.numpy()
        return values


def _strategy(mode):
    """One-replica MirroredStrategy for mode "mirrored", else the default."""
    if mode == "mirrored":
        return tf.distribute.MirroredStrategy(["/cpu:0"])
    return tf.distribute.get_strategy()


def _step_function(problem, mode, strategy):
    if mode == "eager":
        return problem.step
    if mode == "mirrored":
        return tf.function(lambda: strategy.run(problem.step))
    return tf.function(problem.step, jit_compile=(mode == "xla"))


@pytest.mark.parametrize("mode", ["eager", "function", "mirrored", "xla"])
def test_reproduces_reference_trace_step_by_step(mode):
    strategy = _strategy(mode)
    problem = _TraceProblem(strategy)
    step = _step_function(problem, mode, strategy)
    unused = problem.variables["unused/kernel"]
    unused_before = unused.numpy()
    for entry in TRACE["trace"]:
        assert int(problem.optimizer.iterations.numpy()) == (
            entry["global_step_before"]
        )
        learning_rate, loss, norm, grads = step()
        assert abs(float(learning_rate) - entry["learning_rate"]) < _LR_ABS
        assert abs(float(loss) - entry["loss_before"]) < _ABS
        for name, grad in zip(problem.names, grads):
            expected = entry["grads_before_clip"][name]
            if expected is None:
                assert grad is None, name
            else:
                np.testing.assert_allclose(grad, expected, rtol=0, atol=_ABS)
        # The norm counts the repeated embedding row twice (IndexedSlices).
        assert abs(float(norm) - entry["grad_global_norm"]) < _ABS
        assert (float(norm) > TRACE["clip_norm"]) == entry["clipped"]
        state = problem.state()
        assert sorted(state) == sorted(entry["after"])
        for name, expected in entry["after"].items():
            np.testing.assert_allclose(
                state[name], expected, rtol=0, atol=_ABS, err_msg=name
            )
    assert int(problem.optimizer.iterations.numpy()) == TRACE["steps"]
    # No gradient: no update, slots untouched, no slots to save.
    np.testing.assert_array_equal(unused.numpy(), unused_before)
    slots = problem.optimizer.slot_variables(unused)
    assert not np.any(slots["adam_m"].numpy())
    assert not np.any(slots["adam_v"].numpy())
    assert not problem.optimizer.received_gradient(unused)


def test_final_state_matches_reference_checkpoint():
    problem = _TraceProblem(tf.distribute.get_strategy())
    for _ in range(TRACE["steps"]):
        problem.step()
    reader = tf.train.load_checkpoint(os.path.join(_TESTDATA, "model.ckpt-12"))
    names = set(reader.get_variable_to_shape_map())
    state = problem.state()
    # Slots exactly for the variables that received a gradient.
    assert names == set(state) | {"global_step"}
    assert "unused/kernel/adam_m" not in names
    assert reader.get_tensor("global_step") == problem.optimizer.iterations
    for name, value in state.items():
        np.testing.assert_allclose(
            value, reader.get_tensor(name), rtol=0, atol=_ABS, err_msg=name
        )


def test_weight_decay_exclusion_uses_reference_names():
    problem = _TraceProblem(tf.distribute.get_strategy())
    applies = {
        name: problem.optimizer.applies_weight_decay(var)
        for name, var in problem.variables.items()
    }
    assert applies == TRACE["weight_decay_applies"]
    # "bias" is found inside "debias": excluded, as in the reference.
    assert not applies["debias_proj/kernel"]


def test_schedule_values_match_trace_bit_for_bit():
    schedule = optimization.WarmupLinearDecay(0.1, 10, 3)
    for entry in TRACE["trace"]:
        step = tf.constant(entry["global_step_before"], tf.int64)
        # Exact: step 9 needs the reference graph's 9 * (1/10), not 9 / 10.
        assert float(schedule(step)) == entry["learning_rate"]


@pytest.mark.parametrize(
    "warmup, step, expected",
    [
        (3, 0, 0.0),  # warmup starts from 0
        (3, 2, 0.1 * 2 / 3),
        (3, 3, 0.1 * (1 - 3 / 10)),  # end of warmup: the decay from step 0
        (3, 10, 0.0),  # end of training
        (3, 25, 0.0),  # beyond: stays at 0
        (0, 0, 0.1),  # no warmup
        (None, 4, 0.1 * 0.6),
        (20, 15, 0.1 * 15 / 20),  # warmup longer than training
    ],
)
def test_schedule_worked_values(warmup, step, expected):
    schedule = optimization.WarmupLinearDecay(0.1, 10, warmup)
    step = tf.constant(step, tf.int64)
    assert abs(float(schedule(step)) - expected) < _LR_ABS


def test_schedule_serialization_round_trip():
    schedule = optimization.WarmupLinearDecay(5e-5, 1000, 100)
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, optimization.WarmupLinearDecay)
    assert restored.get_config() == {
        "init_lr": 5e-5,
        "num_train_steps": 1000,
        "num_warmup_steps": 100,
    }
    assert float(restored(50)) == float(schedule(50))


@pytest.mark.parametrize("optimizer_type", ["adamw", "lamb"])
def test_optimizer_config_round_trip(optimizer_type):
    optimizer = optimization.create_optimizer(
        2e-5,
        100,
        10,
        optimizer_type=optimizer_type,
        variable_names={"dense/kernel": "bert/pooler/dense/kernel"},
        gradient_accumulation_steps=4,
    )
    config = optimizer.get_config()
    # from_config deserializes the schedule in place: give it a fresh dict.
    restored = type(optimizer).from_config(optimizer.get_config())
    assert restored.get_config() == config
    assert config["weight_decay_rate"] == 0.01
    assert config["clip_norm"] == 1.0
    assert config["gradient_accumulation_steps"] == 4
    assert config["exclude_from_weight_decay"] == [
        "LayerNorm",
        "layer_norm",
        "bias",
    ]


def test_converges_like_reference_unit_test():
    # SPEC 4.2: the reference's own optimization_test.
    w = keras.Variable([0.1, -0.2, -0.1], name="w")
    x = tf.constant([0.4, 0.2, -0.5])
    optimizer = optimization.AdamWeightDecay(learning_rate=0.2)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x - w.value))
        optimizer.apply(tape.gradient(loss, [w.value]), [w])

    assert np.max(np.abs(w.numpy() - x.numpy())) > 0.3
    for _ in range(100):
        step()
    np.testing.assert_allclose(w.numpy(), x.numpy(), rtol=0, atol=1e-2)


def _lamb_step(initial, grad, steps=1, name="kernel", weight_decay_rate=0.0):
    w = keras.Variable(np.array(initial, np.float32), name="w")
    optimizer = optimization.Lamb(
        learning_rate=0.1,
        weight_decay_rate=weight_decay_rate,
        epsilon=0.0,
        exclude_from_weight_decay=["bias"],
        variable_names={w.path: name},
    )
    for _ in range(steps):
        optimizer.apply([tf.constant(grad, tf.float32)], [w])
    return w.numpy()


def test_lamb_trust_ratio_worked_example():
    # With a constant gradient the bias-corrected direction is sign(g):
    # m_hat = g, v_hat = g^2 at every step. ||[1, -1]|| = sqrt(2).
    root2 = math.sqrt(2.0)
    w1 = [3 - 0.1 * 5 / root2, 4 + 0.1 * 5 / root2]
    np.testing.assert_allclose(
        _lamb_step([3.0, 4.0], [2.0, -1.0]), w1, rtol=0, atol=1e-6
    )
    norm1 = math.hypot(*w1)
    w2 = [w1[0] - 0.1 * norm1 / root2, w1[1] + 0.1 * norm1 / root2]
    np.testing.assert_allclose(
        _lamb_step([3.0, 4.0], [2.0, -1.0], steps=2), w2, rtol=0, atol=1e-6
    )


def test_lamb_weight_decay_and_exclusions():
    # Decay 0.1: update = [1, -1] + 0.1 * [3, 4] = [1.3, -0.6].
    ratio = 5 / math.sqrt(1.3**2 + 0.6**2)
    np.testing.assert_allclose(
        _lamb_step([3.0, 4.0], [2.0, -1.0], weight_decay_rate=0.1),
        [3 - 0.1 * ratio * 1.3, 4 + 0.1 * ratio * 0.6],
        rtol=1e-6,
    )
    # An excluded name gets neither decay nor trust ratio.
    np.testing.assert_allclose(
        _lamb_step(
            [3.0, 4.0],
            [2.0, -1.0],
            name="cls/output_bias",
            weight_decay_rate=0.1,
        ),
        [2.9, 4.1],
        rtol=0,
        atol=1e-6,
    )
    # A zero weight norm gives ratio 1.0.
    np.testing.assert_allclose(
        _lamb_step([0.0, 0.0], [2.0, -1.0]), [-0.1, 0.1], rtol=0, atol=1e-6
    )


def _accumulation_run(micro_batches, steps, strategy, eager=False):
    """Runs micro-batches through an optimizer; returns its final state."""
    with strategy.scope():
        table = keras.Variable(
            np.array([[0.5, -0.5], [1.0, 2.0]], np.float32), name="table"
        )
        bias = keras.Variable(np.array([0.1, 0.2], np.float32), name="bias")
        unused = keras.Variable(np.array([1.0], np.float32), name="unused")
        variables = [table, bias, unused]
        # lr(0) = 0.1, lr(1) = 0.09: the updates must use 0 then 1.
        optimizer = optimization.create_optimizer(
            0.1, 10, 0, gradient_accumulation_steps=steps
        )
        optimizer.build(variables)

    def apply(table_grad, bias_grad):
        optimizer.apply([table_grad, bias_grad, None], variables)

    def run(*args):
        return strategy.run(apply, args=args)

    if not eager:
        run = tf.function(run)
    history = []
    for table_grad, bias_grad in micro_batches:
        run(table_grad, bias_grad)
        history.append(int(optimizer.iterations.numpy()))
    state = [v.numpy() for v in variables]
    for v in variables[:2]:
        state += [s.numpy() for s in optimizer.slot_variables(v).values()]
    return state, history, unused.numpy()


@pytest.mark.parametrize("mode", ["eager", "function", "mirrored"])
def test_accumulation_equals_one_step_on_the_mean(mode):
    # Micro-batch gradients whose mean has norm > 1, so clipping the mean
    # differs from clipping each micro-batch (the slots would differ).
    sparse = tf.IndexedSlices(
        tf.constant([[3.0, 0.0], [1.0, 1.0]]),
        tf.constant([1, 1]),  # a repeated row, summed when densified
        tf.constant([2, 2], tf.int64),
    )
    micro = [
        (sparse, tf.constant([2.0, -2.0])),
        (tf.constant([[0.0, 4.0], [-1.0, 0.0]]), tf.constant([0.0, 2.0])),
        (tf.constant([[0.5, 0.5], [0.0, 0.0]]), tf.constant([0.1, 0.2])),
        (tf.constant([[0.0, 0.0], [0.2, -0.5]]), tf.constant([1.0, 0.0])),
    ]
    means = [
        tuple(
            (tf.convert_to_tensor(a) + b) / 2
            for a, b in zip(micro[i], micro[i + 1])
        )
        for i in (0, 2)
    ]
    strategy = _strategy(mode)
    accumulated, history, unused = _accumulation_run(
        micro, 2, strategy, eager=(mode == "eager")
    )
    expected, _, _ = _accumulation_run(means, 1, tf.distribute.get_strategy())
    assert history == [0, 1, 1, 2]  # iterations count applied updates
    for got, want in zip(accumulated, expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(unused, [1.0])


def test_accumulation_does_not_touch_variables_between_updates():
    micro = [(tf.ones([2, 2]), tf.ones([2]))]
    state, history, _ = _accumulation_run(
        micro, 3, tf.distribute.get_strategy()
    )
    assert history == [0]
    initial = [[[0.5, -0.5], [1.0, 2.0]], [0.1, 0.2]]
    for got, want in zip(state, initial):
        np.testing.assert_array_equal(got, np.array(want, np.float32))
    for slot in state[3:]:
        assert not np.any(slot)


@pytest.mark.parametrize(
    "policy, jit_compile, accumulation",
    [
        ("float32", False, 1),
        ("mixed_float16", False, 1),
        ("mixed_float16", False, 2),
        ("mixed_bfloat16", True, 2),
    ],
)
def test_fit_worked_example(policy, jit_compile, accumulation):
    # Kernel 0, x = 1, y = 0.75: the mse gradient is -1.5 (finite in
    # float16 under the initial loss scale 2^15), clipped to -1, so
    # m = -0.1, v = 0.001 and the kernel moves by
    # 0.01 * 0.1 / (sqrt(0.001) + 1e-6), whatever the compute precision.
    with dtype_policy(policy):
        inputs = keras.Input((1,))
        dense = keras.layers.Dense(
            1, use_bias=False, kernel_initializer="zeros", name="dense"
        )
        outputs = keras.layers.Activation("linear", dtype="float32")(
            dense(inputs)
        )
        model = keras.Model(inputs, outputs)
        optimizer = optimization.create_optimizer(
            0.01, 10, 0, gradient_accumulation_steps=accumulation
        )
        model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
        x = np.ones((accumulation, 1), np.float32)
        model.fit(x, 0.75 * x, batch_size=1, epochs=1, verbose=0)
    assert dense.kernel.dtype == "float32"
    assert int(optimizer.iterations.numpy()) == 1
    expected = 0.01 * 0.1 / (math.sqrt(0.001) + 1e-6)
    np.testing.assert_allclose(dense.kernel.numpy(), [[expected]], atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer_type": "sgd"}, "optimizer_type='sgd'"),
        ({"num_train_steps": 0}, "num_train_steps=0"),
        ({"num_warmup_steps": -1}, "num_warmup_steps=-1"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps=0"),
    ],
)
def test_create_optimizer_rejects_bad_arguments(kwargs, message):
    arguments = {"init_lr": 1e-4, "num_train_steps": 10, "num_warmup_steps": 1}
    arguments.update(kwargs)
    with pytest.raises(errors.UserInputError, match=message):
        optimization.create_optimizer(**arguments)


def test_refuses_keras_arguments_it_replaces():
    with pytest.raises(ValueError, match="weight_decay"):
        optimization.AdamWeightDecay(weight_decay=0.01)
    with pytest.raises(ValueError, match="global_clipnorm"):
        optimization.AdamWeightDecay(global_clipnorm=1.0)


def _kernel_calls(function):
    """The XLA-compiled function calls in `function`'s traced graph."""
    graph = function.get_concrete_function().graph
    return [
        op for op in graph.get_operations()
        if op.type == "StatefulPartitionedCall"
        and op.node_def.attr["_XlaMustCompile"].b
    ]


@pytest.mark.parametrize("mode", ["function", "mirrored"])
def test_update_kernel_is_bit_identical_to_plain_ops(mode, monkeypatch):
    # The reference trace at lr 0.1 with clipping and weight decay: the XLA
    # kernel must give the plain ops' float32 results exactly, not within
    # the golden tolerance, so that exact fp32 keeps the reference's order.
    def final_state():
        strategy = _strategy(mode)
        problem = _TraceProblem(strategy)
        step = _step_function(problem, mode, strategy)
        for _ in TRACE["trace"]:
            step()
        return problem.state(), len(_kernel_calls(step))

    kernel_state, kernel_calls = final_state()
    monkeypatch.setattr(fused, "xla_runs_on_host", lambda: False)
    plain_state, plain_calls = final_state()
    # One kernel call per variable with a gradient (all but unused/kernel).
    with_gradient = [
        name for name, grad in TRACE["trace"][0]["grads_before_clip"].items()
        if grad is not None
    ]
    assert (kernel_calls, plain_calls) == (len(with_gradient), 0)
    assert sorted(kernel_state) == sorted(plain_state)
    for name, value in plain_state.items():
        np.testing.assert_array_equal(kernel_state[name], value, err_msg=name)


def test_update_kernel_is_bit_identical_on_random_values(monkeypatch):
    # Values over many magnitudes, where a fused multiply-add would round
    # differently from the two roundings of the plain ops.
    rng = np.random.default_rng(7)
    shape = (64, 257)
    initial = rng.standard_normal(shape).astype(np.float32)
    grads = [
        (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 2, shape))
        .astype(np.float32)
        for _ in range(4)
    ]

    def final_state():
        kernel = keras.Variable(initial, name="kernel")
        optimizer = optimization.AdamWeightDecay(
            learning_rate=3e-3, weight_decay_rate=0.01
        )
        optimizer.build([kernel])
        apply = tf.function(lambda g: optimizer.apply([g], [kernel]))
        for grad in grads:
            apply(tf.constant(grad))
        slots = optimizer.slot_variables(kernel)
        return [kernel.numpy(), slots["adam_m"].numpy(),
                slots["adam_v"].numpy()]

    kernel_state = final_state()
    monkeypatch.setattr(fused, "xla_runs_on_host", lambda: False)
    for got, expected in zip(kernel_state, final_state()):
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(kernel_state[0], initial)


# --- Dynamic loss scaling (float16) ---------------------------------------


def _scaled_pair(accumulation=1):
    """A loss-scaled optimizer and an unscaled one on twin variables."""
    scaled = optimization.AdamWeightDecay(
        learning_rate=0.1, dynamic_loss_scale=True,
        gradient_accumulation_steps=accumulation,
    )
    plain = optimization.AdamWeightDecay(
        learning_rate=0.1, gradient_accumulation_steps=accumulation
    )
    w, w_ref = keras.Variable([1.0, 2.0]), keras.Variable([1.0, 2.0])
    scaled.build([w])
    plain.build([w_ref])
    return scaled, plain, w, w_ref


def _state(optimizer, w):
    slots = optimizer.slot_variables(w)
    return (w.numpy().tolist(), slots["adam_m"].numpy().tolist(),
            slots["adam_v"].numpy().tolist(), int(optimizer.iterations.numpy()))


@pytest.mark.parametrize("mode", ["eager", "mirrored"])
def test_loss_scaling_unscales_and_skips_non_finite_updates(mode):
    strategy = _strategy(mode)
    with strategy.scope():
        scaled, plain, w, w_ref = _scaled_pair()
    apply = lambda opt, g, v: strategy.run(lambda: opt.apply([g], [v]))
    assert float(scaled.scale_loss(tf.constant(3.0))) == 3.0 * 2**15
    grad = tf.constant([0.5, -0.25])
    # Gradients of the scaled loss, divided by a power of two: the same
    # update, bit for bit, as without scaling.
    apply(scaled, grad * 2**15, w)
    apply(plain, grad, w_ref)
    assert _state(scaled, w) == _state(plain, w_ref)
    before = _state(scaled, w)
    apply(scaled, tf.constant([np.inf, 1.0]), w)
    # Skipped, but counted as a step; the scale halves.
    assert _state(scaled, w)[:3] == before[:3]
    assert _state(scaled, w)[3] == before[3] + 1
    assert float(scaled.loss_scale.scale.numpy()) == 2**14
    assert int(scaled.loss_scale.good_steps.numpy()) == 0


def test_loss_scale_doubles_after_a_run_of_good_updates(monkeypatch):
    monkeypatch.setattr(optimization.loss_scale, "GROWTH_STEPS", 3)
    scaled, _, w, _ = _scaled_pair()
    scales = []
    for _ in range(4):
        scaled.apply([tf.constant([1.0, 1.0])], [w])
        scales.append(float(scaled.loss_scale.scale.numpy()))
    assert scales == [2**15, 2**15, 2**16, 2**16]
    assert int(scaled.loss_scale.good_steps.numpy()) == 1


def test_loss_scaling_with_accumulation_skips_the_whole_update():
    scaled, plain, w, w_ref = _scaled_pair(accumulation=2)
    scale = 2**15
    # An inf in the first micro-batch spoils the update it belongs to.
    scaled.apply([tf.constant([np.inf, 1.0])], [w])
    scaled.apply([tf.constant([0.5, 0.5]) * scale], [w])
    assert _state(scaled, w) == ([1.0, 2.0], [0.0, 0.0], [0.0, 0.0], 1)
    assert float(scaled.loss_scale.scale.numpy()) == scale / 2
    # The next window is clean again and applies its mean.
    for g in ([0.5, -0.25], [0.25, 0.75]):
        scaled.apply([tf.constant(g) * (scale / 2)], [w])
        plain.apply([tf.constant(g)], [w_ref])
    assert _state(scaled, w)[:3] == _state(plain, w_ref)[:3]
