#!/usr/bin/env bash
# make demo: the main job end to end on data shipped in the repo.
set -euo pipefail
PY=.venv/bin/python
OUT=demo_output
rm -rf "$OUT" && mkdir -p "$OUT"
$PY - <<'PY'
import numpy as np
from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.modeling import BertConfig, BertPretrainingModel

config = BertConfig.from_json_file("tests/testdata/tiny_model/bert_config.json")
model = BertPretrainingModel(config)
load_tf1_checkpoint(model, "tests/testdata/tiny_model/bert_model.ckpt")
golden = np.load("tests/testdata/tiny_model/golden_outputs.npz")
keys = ["input_ids", "input_mask", "segment_ids", "masked_lm_positions",
        "masked_lm_ids", "masked_lm_weights", "next_sentence_labels"]
out = model({k: golden[k] for k in keys})
diff = np.max(np.abs(np.asarray(out["sequence_output"]) - golden["sequence_output"]))
print(f"loss = {float(out['loss']):.6f} (reference {float(golden['total_loss']):.6f})")
print(f"max |sequence_output - reference| = {diff:.2e}")
PY
