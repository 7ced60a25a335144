import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import checkpoints
from bert_tf import distribution
from bert_tf import estimator
from bert_tf.checkpoints import training_state
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.pretraining.task import PretrainingTask
from bert_tf.pretraining import input_pipeline
from bert_tf.pretraining import run as run_lib
from tests.conftest import runner_params
from tests.conftest import testdata
from tests.pretraining import pretraining_helpers as helpers

TINY_CKPT = testdata("tiny_model", "bert_model.ckpt")


def _params(tmp_path, **overrides):
    os.makedirs(tmp_path, exist_ok=True)
    data = helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"))
    settings = dict(
        bert_config_file=helpers.tiny_config_without_dropout(str(tmp_path)),
        input_file=data,
        output_dir=str(tmp_path / "model"),
        init_checkpoint=TINY_CKPT,
        **helpers.GOLDEN_SHAPE,
        train_batch_size=3,
        eval_batch_size=3,
        num_train_steps=1,
        num_warmup_steps=0,
        max_eval_steps=1,
        learning_rate=1e-3,
    )
    return runner_params(run_lib.PretrainingParams, settings, overrides)


def test_eval_matches_reference_metrics(tmp_path):
    golden = helpers.golden_batch()
    results = run_lib.run(_params(tmp_path, do_eval=True))
    # No checkpoint in output_dir: evaluates the init_checkpoint, step 0.
    assert results["global_step"] == 0
    np.testing.assert_allclose(results["loss"], golden["total_loss"], atol=2e-5)
    expected = {  # run_pretraining's metric_fn on this batch (fixture sidecar)
        "masked_lm_accuracy": 0.0,
        "masked_lm_loss": 10.279390335083008,
        "next_sentence_accuracy": 0.6666666865348816,
        "next_sentence_loss": 0.6907088160514832,
    }
    for key, value in expected.items():
        np.testing.assert_allclose(results[key], value, atol=2e-5)
    with open(tmp_path / "model" / "eval_results.txt") as f:
        lines = f.read().splitlines()
    assert [line.split(" = ")[0] for line in lines] == [
        "global_step",
        "loss",
        "masked_lm_accuracy",
        "masked_lm_loss",
        "next_sentence_accuracy",
        "next_sentence_loss",
    ]
    assert lines[0] == "global_step = 0"


def test_one_training_step_loss_and_checkpoint_names(tmp_path, caplog):
    # The exact golden batch, through the runner's compiled training loop.
    golden = helpers.golden_batch()
    config = BertConfig.from_json_file(helpers.tiny_config_without_dropout(str(tmp_path)))
    task = PretrainingTask(config, learning_rate=1e-3, num_train_steps=1, num_warmup_steps=0)
    runner = estimator.Estimator(
        task, estimator.RunConfig(str(tmp_path / "model")), init_checkpoint=TINY_CKPT
    )
    features = {k: golden[k] for k in helpers.INT_FEATURES + ("masked_lm_weights",)}
    # Saving a SavedModel elsewhere in the session raises absl's level.
    with caplog.at_level("INFO", logger="absl"):
        runner.train(lambda: tf.data.Dataset.from_tensors(features).repeat(), max_steps=1)
    # The loop logs the mean loss of its steps; one step here.
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step = 1/1")]
    loss = float(logged[0].split("loss = ")[1].split(",")[0])
    np.testing.assert_allclose(loss, golden["total_loss"], atol=2e-5)

    prefix = str(tmp_path / "model" / "model.ckpt-1")
    names = [n for n, _ in tf.train.list_variables(prefix)]
    model_names = [n for n, _ in tf.train.list_variables(TINY_CKPT) if n != "global_step"]
    expected = set(model_names) | {"global_step"}
    expected |= {f"{n}/{slot}" for n in model_names for slot in ("adam_m", "adam_v")}
    # And bert_tf's resume state, under a name no TF1 BERT variable has.
    assert set(names) == expected | {training_state.SEED_STATES}
    assert tf.train.load_checkpoint(prefix).get_tensor("global_step") == 1
    assert tf.train.latest_checkpoint(str(tmp_path / "model")) == prefix


def _train(model_dir, stop_at, data, precision, accumulation):
    """Trains the tiny model (dropout 0.1) toward step 4, as a fresh process
    would: new seed, new model; stopping at `stop_at` as a killed run would."""
    tf.keras.utils.set_random_seed(1)
    config = BertConfig.from_json_file(testdata("tiny_model", "bert_config.json"))
    task = PretrainingTask(
        config, learning_rate=1e-2, num_train_steps=4, num_warmup_steps=1,
        gradient_accumulation_steps=accumulation,
    )
    policy = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
    with distribution.dtype_policy(policy[precision]):
        runner = estimator.Estimator(
            task,
            estimator.RunConfig(str(model_dir), save_checkpoints_steps=2),
            init_checkpoint=TINY_CKPT,
        )
        input_fn = input_pipeline.input_fn_builder(
            [data], 16, 5, is_training=True, batch_size=2, seed=3
        )
        return runner.train(input_fn, max_steps=stop_at)


@pytest.mark.parametrize(
    "precision, accumulation", [("fp32", 1), ("fp32", 2), ("bf16", 1), ("fp16", 2)]
)
def test_resume_matches_an_uninterrupted_run(tmp_path, precision, accumulation):
    data = helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"), repeat=3)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert _train(straight, 4, data, precision, accumulation) == 4
    # What a run killed after step 2 leaves: its checkpoint of step 2.
    resumed.mkdir()
    for path in straight.glob("model.ckpt-2.*"):
        shutil.copy(path, resumed)
    checkpoints.write_checkpoint_state(str(resumed), ["model.ckpt-2"])
    # The rerun restores step 2: weights, slots, data position and the
    # dropout generators.
    assert _train(resumed, 4, data, precision, accumulation) == 4
    a = tf.train.load_checkpoint(str(straight / "model.ckpt-4"))
    b = tf.train.load_checkpoint(str(resumed / "model.ckpt-4"))
    assert a.get_variable_to_shape_map() == b.get_variable_to_shape_map()
    for name in a.get_variable_to_shape_map():
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)
    # global_step counts updates, each of `accumulation` batches.
    assert a.get_tensor("global_step") == 4


def test_keeps_the_five_most_recent_checkpoints(tmp_path):
    run_lib.run(_params(tmp_path, do_train=True, num_train_steps=7,
                        save_checkpoints_steps=1, iterations_per_loop=3))
    state = tf.train.get_checkpoint_state(str(tmp_path / "model"))
    kept = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    assert kept == [f"model.ckpt-{s}" for s in range(3, 8)]
    indexes = sorted(p for p in os.listdir(tmp_path / "model") if p.endswith(".index"))
    assert indexes == sorted(f"model.ckpt-{s}.index" for s in range(3, 8))


def test_bad_input(tmp_path):
    with pytest.raises(UserInputError, match="At least one of `do_train` or `do_eval`"):
        run_lib.run(_params(tmp_path))
    with pytest.raises(UserInputError, match=r"--input_file='nothing\*' matches no file"):
        run_lib.run(_params(tmp_path, do_train=True, input_file="nothing*"))
    with pytest.raises(
        UserInputError,
        match=r"--max_seq_length=32 but .*batch.tfrecord was written with "
        r"max_seq_length=16",
    ):
        run_lib.run(_params(tmp_path, do_train=True, max_seq_length=32))
    with pytest.raises(UserInputError, match=r"--max_predictions_per_seq=20 but .*=5"):
        run_lib.run(_params(tmp_path, do_train=True, max_predictions_per_seq=20))
    with pytest.raises(UserInputError, match="only trained up to sequence length 64"):
        run_lib.run(_params(tmp_path, do_train=True, max_seq_length=128))
    for flag, message in [
        (dict(optimizer="sgd"), "--optimizer='sgd': expected 'adamw' or 'lamb'"),
        (dict(precision="fp8"), "--precision='fp8': expected one of auto"),
    ]:
        with pytest.raises(UserInputError, match=message):
            run_lib.run(_params(tmp_path / "out", do_train=True, **flag))
        assert not (tmp_path / "out" / "model").exists()
    config = tmp_path / "big_vocab.json"
    config.write_text('{"vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2, '
                      '"num_attention_heads": 4, "intermediate_size": 37, '
                      '"max_position_embeddings": 64, "type_vocab_size": 2}')
    with pytest.raises(UserInputError, match="bert_config.json says 300 .* has 262 rows"):
        run_lib.run(_params(tmp_path, do_train=True, bert_config_file=str(config)))


def test_dynamic_masking_trains_and_checks_its_vocab(tmp_path):
    with pytest.raises(UserInputError, match="--dynamic_masking needs --vocab_file"):
        run_lib.run(_params(tmp_path, do_train=True, dynamic_masking=True))
    big_vocab = testdata("vocab", "uncased_vocab.txt")
    with pytest.raises(UserInputError, match="30522 entries but bert_config.json says vocab_size=262"):
        run_lib.run(_params(tmp_path, do_train=True, dynamic_masking=True, vocab_file=big_vocab))
    results = run_lib.run(
        _params(tmp_path, do_train=True, do_eval=True, num_train_steps=2,
                dynamic_masking=True, do_whole_word_mask=True,
                vocab_file=testdata("tiny_model", "vocab.txt"))
    )
    assert results["global_step"] == 2


def _train_with_dropout(tmp_path, precision, use_xla):
    """Three seeded steps of the tiny model, dropout 0.1, then its eval."""
    params = _params(
        tmp_path,
        bert_config_file=testdata("tiny_model", "bert_config.json"),
        do_train=True,
        do_eval=True,
        num_train_steps=3,
        precision=precision,
        use_xla=use_xla,
    )
    results = run_lib.run(params)
    assert results["global_step"] == 3
    assert tf.train.latest_checkpoint(params.runner.output_dir).endswith("model.ckpt-3")
    return results


@pytest.fixture(scope="module")
def exact_run_with_dropout(tmp_path_factory):
    """The eval results after the fp32 run without XLA: the exact mode."""
    return _train_with_dropout(tmp_path_factory.mktemp("exact"), "fp32", False)


@pytest.mark.parametrize(
    "precision, use_xla, rtol",
    [("bf16", False, 0.03), ("fp32", True, 1e-5)],
)
def test_trains_with_dropout_in_each_precision_and_under_xla(
    tmp_path, exact_run_with_dropout, precision, use_xla, rtol
):
    # The fused dropout kernels run, with the same seeded masks in every
    # mode, so each mode follows the exact run: from the fixture's 10.97
    # (golden total_loss) to 5.590 after three steps. Seen: XLA 5.590; bf16
    # 5.587 on a CPU with AVX-512 BF16, 5.547 on one without (emulated
    # bfloat16 matmuls).
    results = _train_with_dropout(tmp_path, precision, use_xla)
    for name in ("loss", "masked_lm_loss", "next_sentence_loss"):
        np.testing.assert_allclose(
            results[name], exact_run_with_dropout[name], rtol=rtol
        )


def test_fp16_skips_the_step_whose_scaled_gradients_overflow(
    tmp_path, exact_run_with_dropout
):
    # Dynamic loss scaling starts at 2**15, as Keras's LossScaleOptimizer
    # does. On this tiny model at lr 1e-2 one of the three steps overflows in
    # float16: that update is skipped and the scale halves, so the run ends
    # one update behind the exact run (seen: loss 7.42 against 5.59, from
    # 10.97) instead of following it.
    results = _train_with_dropout(tmp_path, "fp16", False)
    reader = tf.train.load_checkpoint(
        tf.train.latest_checkpoint(str(tmp_path / "model"))
    )
    assert reader.get_tensor("bert_tf/loss_scale") == 2.0**14
    assert np.isfinite(results["loss"])
    assert exact_run_with_dropout["loss"] + 1.0 < results["loss"] < 10.0
