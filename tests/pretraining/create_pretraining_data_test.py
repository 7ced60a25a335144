"""create_pretraining_data: the reference's four golden runs, sharding, bad
input and the script itself."""

import json
import os
import random
import uuid

import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver

from bert_tf import errors
from bert_tf import tokenization
from bert_tf.pretraining import corpus as corpus_lib
from bert_tf.pretraining import create_data
from bert_tf.pretraining import instances
from bert_tf.pretraining import masking
from bert_tf.pretraining import tfrecords
from tests.conftest import imported_script
from tests.conftest import testdata

VOCAB = testdata("vocab", "uncased_vocab.txt")
CORPUS = testdata("pretraining_data", "corpus.txt")


def _golden_runs():
    with open(testdata("pretraining_data", "runs.json")) as f:
        return json.load(f)["runs"]


def _params(run, output_dir, **overrides):
    """Params of a golden run from runs.json, writing into output_dir."""
    flags = dict(run["flags"])
    for name in ("do_lower_case", "do_whole_word_mask"):
        flags[name] = flags[name] == "True"
    settings = dict(
        input_file=",".join(testdata("pretraining_data", f)
                            for f in run["input_files"]),
        output_file=",".join(os.path.join(output_dir, f)
                             for f in run["output_files"]),
        vocab_file=VOCAB, **flags)
    settings.update(overrides)
    return create_data.CreatePretrainingDataParams(**settings)


@pytest.mark.parametrize("name", sorted(_golden_runs()))
def test_golden_runs(tmp_path, name):
    run = _golden_runs()[name]
    written = create_data.run(_params(run, str(tmp_path)))
    assert written == run["wrote_total_instances"]
    for output, info in run["output_files"].items():
        ours = tfrecords.read_examples(str(tmp_path / output))
        golden = tfrecords.read_examples(testdata("pretraining_data", output))
        assert len(ours) == info["instances"]
        assert ours == golden
    # Only the outputs, no temporary files left behind.
    assert sorted(os.listdir(tmp_path)) == sorted(run["output_files"])


def test_feature_spec_parses_golden_records():
    path = testdata("pretraining_data", "a_default.tfrecord")
    spec = tfrecords.feature_spec(64, 10)
    record = next(iter(tf.data.TFRecordDataset(path)))
    parsed = tf.io.parse_single_example(record, spec)
    first = tfrecords.read_examples(path)[0]
    assert sorted(parsed) == sorted(tfrecords.FEATURE_NAMES)
    for name, value in parsed.items():
        assert value.shape == spec[name].shape
        assert value.numpy().tolist() == first[name]
    assert parsed["masked_lm_weights"].dtype == tf.float32


def _tf_example(features):
    def feature(values):
        if isinstance(values[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    return tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in features.items()}))


def test_encoder_bytes_parse_to_the_same_example():
    # 300 positions: multi-byte varints in values and in lengths.
    encoder = tfrecords.ExampleEncoder(300, 3, max_id=30521)
    ids = [101] + list(range(1000, 1250)) + [102, 7, 30521, 102]
    data = encoder.encode(ids, 250, [5, 252], [1004, 7], 1)
    expected = _tf_example({
        "input_ids": ids + [0] * 45,
        "input_mask": [1] * 255 + [0] * 45,
        "segment_ids": [0] * 252 + [1] * 3 + [0] * 45,
        "masked_lm_positions": [5, 252, 0],
        "masked_lm_ids": [1004, 7, 0],
        "masked_lm_weights": [1.0, 1.0, 0.0],
        "next_sentence_labels": [1],
    })
    assert tf.train.Example.FromString(data) == expected


def _shard_instances(shard, num_shards, seed, run):
    """A shard's instances in its shuffled order, as feature dicts."""
    tokenizer = tokenization.FullTokenizer(VOCAB, do_lower_case=True)
    symbols = masking.Symbols.for_ids(tokenizer.vocab)
    with open(CORPUS, "rb") as f:
        corpus = corpus_lib.read_corpus([f.read().split(b"\n")], tokenizer,
                                        shard, num_shards)
    flags = run["flags"]
    rng = random.Random(create_data.shard_seed(seed, shard))
    result = []
    for a0, a1, b0, b1, is_random_next, masked in instances.generate(
            corpus, flags["dupe_factor"], 64, flags["short_seq_prob"],
            flags["masked_lm_prob"], 10, symbols, rng):
        ids = instances.instance_tokens(corpus.tokens, a0, a1, b0, b1, symbols)
        labels = [ids[p] for p, _ in masked]
        for p, r in masked:
            ids[p] = r
        n, m = len(ids), len(masked)
        result.append({
            "input_ids": ids + [0] * (64 - n),
            "input_mask": [1] * n + [0] * (64 - n),
            "segment_ids": [0] * (a1 - a0 + 2) + [1] * (b1 - b0 + 1) +
                           [0] * (64 - n),
            "masked_lm_positions": [p for p, _ in masked] + [0] * (10 - m),
            "masked_lm_ids": labels + [0] * (10 - m),
            "masked_lm_weights": [1.0] * m + [0.0] * (10 - m),
            "next_sentence_labels": [int(is_random_next)],
        })
    return [result[k] for k in instances.shuffled_indices(len(result), rng)]


def _key(example):
    return json.dumps(example, sort_keys=True)


def test_sharded_run_is_deterministic_and_holds_each_shards_instances(
        tmp_path):
    run = _golden_runs()["d_two_files"]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    written = create_data.run(_params(run, str(first), num_workers=2))
    assert create_data.run(_params(run, str(second), num_workers=2)) == written
    outputs = sorted(run["output_files"])
    for output in outputs:
        assert (first / output).read_bytes() == (second / output).read_bytes()

    examples = [tfrecords.read_examples(str(first / o)) for o in outputs]
    shards = [_shard_instances(shard, 2, 12345, run) for shard in (0, 1)]
    assert written == len(shards[0]) + len(shards[1])
    # Each shard writes its i-th example to file i % 2.
    for f in (0, 1):
        expected = shards[0][f::2] + shards[1][f::2]
        assert sorted(map(_key, examples[f])) == sorted(map(_key, expected))
    # Within a file each shard's examples keep their order; blocks of up to
    # MERGE_BLOCK consecutive examples come from one shard.
    position = {_key(e): (s, i) for s in (0, 1)
                for i, e in enumerate(shards[s][0::2])}
    order = [position[_key(e)] for e in examples[0]]
    for shard in (0, 1):
        indices = [i for s, i in order if s == shard]
        assert indices == list(range(len(indices)))
    assert len({s for s, _ in order[:create_data.MERGE_BLOCK]}) == 1


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _error_params(tmp_path, **overrides):
    settings = dict(input_file=CORPUS,
                    output_file=str(tmp_path / "out.tfrecord"),
                    vocab_file=VOCAB, max_seq_length=64,
                    max_predictions_per_seq=10, dupe_factor=1)
    settings.update(overrides)
    return create_data.CreatePretrainingDataParams(**settings)


def _error(tmp_path, **overrides):
    """The UserInputError message of a run with these settings."""
    with pytest.raises(errors.UserInputError) as error:
        create_data.run(_error_params(tmp_path, **overrides))
    return str(error.value)


@pytest.mark.parametrize("overrides, message", [
    (dict(max_seq_length=4),
     "--max_seq_length=4: expected at least 5 ([CLS] A [SEP] B [SEP])"),
    (dict(masked_lm_prob=0.0),
     "--masked_lm_prob=0.0: expected a probability strictly between 0 and 1"),
    (dict(masked_lm_prob=1.0),
     "--masked_lm_prob=1.0: expected a probability strictly between 0 and 1"),
    (dict(max_predictions_per_seq=0),
     "--max_predictions_per_seq=0: expected at least 1"),
    (dict(num_workers=0), "--num_workers=0: expected at least 1"),
])
def test_bad_settings(tmp_path, overrides, message):
    assert _error(tmp_path, **overrides) == message
    assert os.listdir(tmp_path) == []


def test_input_pattern_that_matches_nothing(tmp_path):
    pattern = str(tmp_path / "missing-*.txt")
    assert _error(tmp_path, input_file=pattern) == (
        f"--input_file={pattern!r} matches no file")
    assert os.listdir(tmp_path) == []


def test_missing_vocab(tmp_path):
    vocab = str(tmp_path / "vocab.txt")
    assert _error(tmp_path, vocab_file=vocab) == (
        f"--vocab_file={vocab!r}: file not found")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("missing", ["[CLS]", "[SEP]", "[MASK]"])
def test_vocab_without_special_token(tmp_path, missing):
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the"]
    vocab = _write(tmp_path / "vocab.txt",
                   "\n".join(t for t in tokens if t != missing) + "\n")
    assert _error(tmp_path, vocab_file=vocab) == (
        f"--vocab_file={vocab!r} has no {missing} entry")
    assert os.listdir(tmp_path) == ["vocab.txt"]


@pytest.mark.parametrize("num_workers", [1, 2])
def test_corpus_without_documents(tmp_path, num_workers):
    corpus = _write(tmp_path / "empty.txt", "\n \n\u200b\n\n")
    assert _error(tmp_path, input_file=corpus, num_workers=num_workers) == (
        f"--input_file={corpus!r}: no documents (every line is blank or "
        "tokenizes to nothing)")
    assert os.listdir(tmp_path) == ["empty.txt"]


def test_failure_while_writing_leaves_no_output(tmp_path, monkeypatch):
    calls = []

    def failing_encode(self, *features):
        calls.append(1)
        if len(calls) == 50:
            raise RuntimeError("disk full")
        return original(self, *features)

    original = tfrecords.ExampleEncoder.encode
    monkeypatch.setattr(tfrecords.ExampleEncoder, "encode", failing_encode)
    output = f"{tmp_path / 'a.tfrecord'},{tmp_path / 'b.tfrecord'}"
    with pytest.raises(RuntimeError, match="disk full"):
        create_data.run(_error_params(tmp_path, output_file=output))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("num_workers", [1, 2])
def test_undecodable_bytes_are_dropped_with_one_warning_per_file(
        tmp_path, caplog, num_workers):
    # "\xff" inside a word is dropped, so "cat\xffs" reads as "cats".
    good = _write(tmp_path / "good.txt", "the cats sat .\nthe dog ran .\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"the cat\xffs sat .\nthe dog\xfe ran\xc3 .\n\n\xff\n")
    results = []
    for name, path in (("good", good), ("bad", str(bad))):
        output = str(tmp_path / f"{name}.tfrecord")
        caplog.clear()
        with caplog.at_level("WARNING", logger="absl"):
            create_data.run(_error_params(tmp_path, input_file=path,
                                          output_file=output,
                                          num_workers=num_workers))
        results.append(tfrecords.read_examples(output))
        warnings = [r.getMessage() for r in caplog.records
                    if r.levelname == "WARNING"]
    assert warnings == [
        f"{bad}: 3 line(s) hold bytes that are not UTF-8; those bytes were "
        "dropped"]
    # The same examples as from the file without the bad bytes.
    assert results[0] == results[1] and results[0]


def test_script_reproduces_run_a_with_reference_logs(tmp_path, monkeypatch,
                                                   caplog):
    run = _golden_runs()["a_default"]
    command = run["command"].split()[1:]  # Drop "python".
    command = [a.replace("corpus.txt", CORPUS)
               .replace("../vocab/uncased_vocab.txt", VOCAB)
               for a in command]
    monkeypatch.chdir(tmp_path)  # --output_file is a relative path
    with imported_script("create_pretraining_data") as script, \
            flagsaver.flagsaver(), caplog.at_level("INFO", logger="absl"):
        flags.FLAGS(command)
        script.main(command[:1])
        flags.FLAGS.unparse_flags()
    assert tfrecords.read_examples(str(tmp_path / "a_default.tfrecord")) == (
        tfrecords.read_examples(testdata("pretraining_data",
                                         "a_default.tfrecord")))
    messages = [r.getMessage() for r in caplog.records]
    assert "*** Reading from input files ***" in messages
    assert "*** Writing to output files ***" in messages
    assert messages.count("*** Example ***") == 20
    assert any(m.startswith("tokens: [CLS] ") for m in messages)
    assert any(m.startswith("masked_lm_weights: 1.0 ") for m in messages)
    assert messages[-1] == "Wrote 439 total instances"


def test_progress_lines(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(corpus_lib, "PROGRESS_EVERY_S", 0.0)
    run = _golden_runs()["a_default"]
    with caplog.at_level("INFO", logger="absl"):
        create_data.run(_params(run, str(tmp_path)))
    messages = [r.getMessage() for r in caplog.records]
    assert "Read 463 lines, 61 documents, 10041 tokens" in "\n".join(messages)
    assert any(m.startswith("Sampled 439 instances from 122/122 document "
                            "passes (") for m in messages)
    assert any(m.startswith("Wrote 439/439 instances (") and "ETA 0 s" in m
               for m in messages)
    assert messages[-1] == "Wrote 439 total instances"


@pytest.mark.parametrize("preserve", [False, True])
def test_preserve_unused_tokens(tmp_path, preserve):
    text = "".join(
        f"Sentence {i} has a [unused1] marker and more words.\n"
        + ("\n" if i % 4 == 3 else "")
        for i in range(16)
    )
    params = _error_params(
        tmp_path,
        input_file=_write(tmp_path / "corpus.txt", text),
        preserve_unused_tokens=preserve,
    )
    create_data.run(params)
    unused1 = tokenization.load_vocab(VOCAB)["[unused1]"]
    seen = set()
    for record in tf.data.TFRecordDataset(params.output_file):
        example = tf.train.Example.FromString(record.numpy())
        for key in ("input_ids", "masked_lm_ids"):
            seen.update(example.features.feature[key].int64_list.value)
    assert (unused1 in seen) == preserve


@pytest.mark.parametrize("second", ["blocker/out.tfrecord", "blocker/a/out.tfrecord"])
def test_output_file_under_a_regular_file(tmp_path, second):
    (tmp_path / "blocker").write_text("a file")
    output = f"{tmp_path / 'ok.tfrecord'},{tmp_path / second}"
    assert _error(tmp_path, output_file=output) == (
        f"--output_file={str(tmp_path / second)!r}: {tmp_path / 'blocker'} is "
        "a file, not a directory")
    assert os.listdir(tmp_path) == ["blocker"]


def test_output_file_that_is_a_directory(tmp_path):
    assert _error(tmp_path, output_file=str(tmp_path)) == (
        f"--output_file={str(tmp_path)!r} is a directory, expected a file name")
    assert os.listdir(tmp_path) == []


def test_stale_temporaries_of_the_outputs_are_removed(tmp_path, caplog):
    # What a run killed while writing a.tfrecord and b.tfrecord leaves.
    stale = [".a.tfrecord.tmp-0123abcd", ".b.tfrecord.tmp-4567cdef"]
    kept = [".c.tfrecord.tmp-0123abcd", "notes.txt"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"\0" * 100)
    output = f"{tmp_path / 'a.tfrecord'},{tmp_path / 'b.tfrecord'}"
    with caplog.at_level("INFO", logger="absl"):
        create_data.run(_error_params(tmp_path, output_file=output))
    assert sorted(os.listdir(tmp_path)) == sorted(
        kept + ["a.tfrecord", "b.tfrecord"])
    removed = [r.getMessage() for r in caplog.records
               if r.getMessage().startswith("Removing ")]
    assert removed == [f"Removing {tmp_path / name}, left by a run that was "
                       "killed" for name in stale]


def test_outputs_on_ram_filesystem(tmp_path):
    directory = f"ram://{uuid.uuid4().hex}/out"
    tf.io.gfile.makedirs(directory)
    stale = f"{directory}/.a.tfrecord.tmp-0123abcd"
    with tf.io.gfile.GFile(stale, "wb") as f:
        f.write(b"partial")
    local = str(tmp_path / "a.tfrecord")
    written = create_data.run(_error_params(tmp_path, output_file=local))
    assert create_data.run(_error_params(
        tmp_path, output_file=f"{directory}/a.tfrecord")) == written
    assert tf.io.gfile.listdir(directory) == ["a.tfrecord"]
    with tf.io.gfile.GFile(f"{directory}/a.tfrecord", "rb") as f:
        assert f.read() == (tmp_path / "a.tfrecord").read_bytes()
    blocked = f"{directory}/a.tfrecord/b.tfrecord"
    assert _error(tmp_path, output_file=blocked) == (
        f"--output_file={blocked!r}: {directory}/a.tfrecord is a file, not a "
        "directory")
