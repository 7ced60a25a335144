"""A tiny BERT pretrained on the repo's sample text learns: MLM loss drops.

Data comes from create_pretraining_data's library code over sample_text.txt
with Google's uncased vocab; the model starts from random weights.
"""

import json
import os

import pytest

from bert_tf import runner_settings
from bert_tf.pretraining import create_data
from bert_tf.pretraining import run as run_lib
from tests.conftest import REPO
from tests.conftest import testdata

TINY = {
    "vocab_size": 30522,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
}

# What create_data writes and the run must then read.
RECORD_SHAPE = dict(max_seq_length=64, max_predictions_per_seq=10)


def _pretrain(tmp_path, num_train_steps):
    data = str(tmp_path / "sample.tfrecord")
    create_data.run(
        create_data.CreatePretrainingDataParams(
            input_file=os.path.join(REPO, "sample_text.txt"),
            output_file=data,
            vocab_file=testdata("vocab", "uncased_vocab.txt"),
            **RECORD_SHAPE,
            dupe_factor=2,
        )
    )
    config = tmp_path / "bert_config.json"
    config.write_text(json.dumps(TINY))

    def run(**flags):
        params = dict(
            bert_config_file=str(config),
            input_file=data,
            output_dir=str(tmp_path / "model"),
            **RECORD_SHAPE,
            train_batch_size=32,
            eval_batch_size=32,
            max_eval_steps=10,
            learning_rate=2e-3,
            num_train_steps=num_train_steps,
            num_warmup_steps=num_train_steps // 10,
            iterations_per_loop=50,
            save_checkpoints_steps=num_train_steps,
            random_seed=3,
        )
        params.update(flags)
        return run_lib.run(
            runner_settings.params_from_values(run_lib.PretrainingParams, params)
        )

    before = run(do_eval=True)
    after = run(do_train=True, do_eval=True)
    return before, after


# About 25 s: 100 training steps from random weights.
@pytest.mark.slow
def test_mlm_loss_drops_quickly(tmp_path):
    before, after = _pretrain(tmp_path, num_train_steps=100)
    assert before["global_step"] == 0 and after["global_step"] == 100
    assert before["masked_lm_loss"] > 10.0  # ln(30522) = 10.3 at random init
    assert after["masked_lm_loss"] < before["masked_lm_loss"] - 3.0
    assert after["loss"] < before["loss"]


@pytest.mark.slow
def test_mlm_loss_drops_far(tmp_path):
    before, after = _pretrain(tmp_path, num_train_steps=1000)
    assert after["masked_lm_loss"] < 5.0
    assert after["masked_lm_accuracy"] > 0.25
