"""The top-level scripts define the original's flags: names, order, defaults.

Each script module is imported (not run) and the flags it registered with
absl are read back. The flags are then removed again and the module
forgotten, because the scripts share flag names (`output_dir`, ...) and
absl refuses a second definition from another module.
"""

import importlib
import sys

from absl import flags

# (name, default, absl flag type) in definition order, from SPEC 1 / 5.1 /
# 6.1 / 7.1 (google-research/bert at eedf571).
TPU_FLAGS = [
    ("use_tpu", False, "bool"),
    ("tpu_name", None, "string"),
    ("tpu_zone", None, "string"),
    ("gcp_project", None, "string"),
    ("master", None, "string"),
    ("num_tpu_cores", 8, "int"),
]

RUN_CLASSIFIER_FLAGS = [
    ("data_dir", None, "string"),
    ("bert_config_file", None, "string"),
    ("task_name", None, "string"),
    ("vocab_file", None, "string"),
    ("output_dir", None, "string"),
    ("init_checkpoint", None, "string"),
    ("do_lower_case", True, "bool"),
    ("max_seq_length", 128, "int"),
    ("do_train", False, "bool"),
    ("do_eval", False, "bool"),
    ("do_predict", False, "bool"),
    ("train_batch_size", 32, "int"),
    ("eval_batch_size", 8, "int"),
    ("predict_batch_size", 8, "int"),
    ("learning_rate", 5e-5, "float"),
    ("num_train_epochs", 3.0, "float"),
    ("warmup_proportion", 0.1, "float"),
    ("save_checkpoints_steps", 1000, "int"),
    ("iterations_per_loop", 1000, "int"),
] + TPU_FLAGS

RUN_PRETRAINING_FLAGS = [
    ("bert_config_file", None, "string"),
    ("input_file", None, "string"),
    ("output_dir", None, "string"),
    ("init_checkpoint", None, "string"),
    ("max_seq_length", 128, "int"),
    ("max_predictions_per_seq", 20, "int"),
    ("do_train", False, "bool"),
    ("do_eval", False, "bool"),
    ("train_batch_size", 32, "int"),
    ("eval_batch_size", 8, "int"),
    ("learning_rate", 5e-5, "float"),
    ("num_train_steps", 100000, "int"),
    ("num_warmup_steps", 10000, "int"),
    ("save_checkpoints_steps", 1000, "int"),
    ("iterations_per_loop", 1000, "int"),
    ("max_eval_steps", 100, "int"),
] + TPU_FLAGS

CREATE_PRETRAINING_DATA_FLAGS = [
    ("input_file", None, "string"),
    ("output_file", None, "string"),
    ("vocab_file", None, "string"),
    ("do_lower_case", True, "bool"),
    ("do_whole_word_mask", False, "bool"),
    ("max_seq_length", 128, "int"),
    ("max_predictions_per_seq", 20, "int"),
    ("random_seed", 12345, "int"),
    ("dupe_factor", 10, "int"),
    ("masked_lm_prob", 0.15, "float"),
    ("short_seq_prob", 0.1, "float"),
]

RUN_SQUAD_FLAGS = [
    ("bert_config_file", None, "string"),
    ("vocab_file", None, "string"),
    ("output_dir", None, "string"),
    ("train_file", None, "string"),
    ("predict_file", None, "string"),
    ("init_checkpoint", None, "string"),
    ("do_lower_case", True, "bool"),
    ("max_seq_length", 384, "int"),
    ("doc_stride", 128, "int"),
    ("max_query_length", 64, "int"),
    ("do_train", False, "bool"),
    ("do_predict", False, "bool"),
    ("train_batch_size", 32, "int"),
    ("predict_batch_size", 8, "int"),
    ("learning_rate", 5e-5, "float"),
    ("num_train_epochs", 3.0, "float"),
    ("warmup_proportion", 0.1, "float"),
    ("save_checkpoints_steps", 1000, "int"),
    ("iterations_per_loop", 1000, "int"),
    ("n_best_size", 20, "int"),
    ("max_answer_length", 30, "int"),
] + TPU_FLAGS + [
    ("verbose_logging", False, "bool"),
    ("version_2_with_negative", False, "bool"),
    ("null_score_diff_threshold", 0.0, "float"),
]

# The bert_tf additions shared by the training scripts, after the original's.
RUNNER_ADDITIONS = [
    ("precision", "auto", "string enum"),
    ("use_xla", False, "bool"),
    ("optimizer", "adamw", "string enum"),
    ("gradient_accumulation_steps", 1, "int"),
    ("random_seed", None, "int"),
]

# The wheel's (bert-tensorflow 1.0.4) tokenizer flag, in every script that
# tokenizes text.
WHEEL_TOKENIZER_FLAG = ("preserve_unused_tokens", False, "bool")


def _script_flags(module_name):
    """The absl `Flag`s that `<module_name>.py` defines, in order."""
    imported_here = module_name not in sys.modules
    module = importlib.import_module(module_name)
    defined = flags.FLAGS.get_flags_for_module(module)
    if imported_here:
        for flag in defined:
            delattr(flags.FLAGS, flag.name)
        del sys.modules[module_name]
    return defined


def _summary(defined):
    return [(f.name, f.default, f.flag_type()) for f in defined]


def test_run_classifier_flags():
    defined = _script_flags("run_classifier")
    assert len(RUN_CLASSIFIER_FLAGS) == 25
    assert _summary(defined[:25]) == RUN_CLASSIFIER_FLAGS
    assert _summary(defined[25:]) == RUNNER_ADDITIONS + [
        ("export_dir", None, "string"),
        WHEEL_TOKENIZER_FLAG,
        ("tpu_job_name", None, "string"),
    ]
    # A float flag, so that --num_train_epochs=2.5 parses.
    assert isinstance(defined[15].default, float)
    assert defined[2].help == "The name of the task to train."
    assert all(f.help for f in defined)


def test_run_pretraining_flags():
    defined = _script_flags("run_pretraining")
    assert len(RUN_PRETRAINING_FLAGS) == 22
    assert _summary(defined[:22]) == RUN_PRETRAINING_FLAGS
    assert _summary(defined[22:]) == RUNNER_ADDITIONS + [
        ("dynamic_masking", False, "bool"),
        ("vocab_file", None, "string"),
        ("do_whole_word_mask", False, "bool"),
        ("masked_lm_prob", 0.15, "float"),
    ]
    assert all(f.help for f in defined)


def test_create_pretraining_data_flags():
    defined = _script_flags("create_pretraining_data")
    assert len(CREATE_PRETRAINING_DATA_FLAGS) == 11
    assert _summary(defined[:11]) == CREATE_PRETRAINING_DATA_FLAGS
    assert _summary(defined[11:]) == [("num_workers", 1, "int"), WHEEL_TOKENIZER_FLAG]


# SPEC 10: extract_features.py has its own flag list (no tpu_name/tpu_zone).
EXTRACT_FEATURES_FLAGS = [
    ("input_file", None, "string"),
    ("output_file", None, "string"),
    ("layers", "-1,-2,-3,-4", "string"),
    ("bert_config_file", None, "string"),
    ("max_seq_length", 128, "int"),
    ("init_checkpoint", None, "string"),
    ("vocab_file", None, "string"),
    ("do_lower_case", True, "bool"),
    ("batch_size", 32, "int"),
    ("use_tpu", False, "bool"),
    ("master", None, "string"),
    ("num_tpu_cores", 8, "int"),
    ("use_one_hot_embeddings", False, "bool"),
]


def test_extract_features_flags():
    defined = _script_flags("extract_features")
    assert len(EXTRACT_FEATURES_FLAGS) == 13
    assert _summary(defined[:13]) == EXTRACT_FEATURES_FLAGS
    # Exact mode by default: the output is meant to match the original's.
    assert _summary(defined[13:]) == [
        ("precision", "fp32", "string enum"),
        WHEEL_TOKENIZER_FLAG,
    ]
    # The original left the first three without help text.
    assert [f.help for f in defined[:3]] == ["(no help available)"] * 3
    assert defined[8].help == "Batch size for predictions."
    assert defined[6].help == (
        "The vocabulary file that the BERT model was trained on."
    )


def test_run_squad_flags():
    defined = _script_flags("run_squad")
    assert len(RUN_SQUAD_FLAGS) == 30
    assert _summary(defined[:30]) == RUN_SQUAD_FLAGS
    assert _summary(defined[30:]) == RUNNER_ADDITIONS + [WHEEL_TOKENIZER_FLAG]
    # Float flags, so that --num_train_epochs=2.5 and a negative threshold
    # parse.
    assert isinstance(defined[15].default, float)
    assert isinstance(defined[29].default, float)
    # The original's help text, including its wording for --do_predict.
    assert defined[11].help == "Whether to run eval on the dev set."
    assert all(f.help for f in defined)
