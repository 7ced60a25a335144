import numpy as np
import pytest

from bert_tf.errors import UserInputError
from bert_tf.pretraining import dynamic_masking
from bert_tf.pretraining import input_pipeline
from tests.conftest import testdata

RECORDS = testdata("pretraining_data", "a_default.tfrecord")  # seq 64, 10 preds
VOCAB = testdata("vocab", "uncased_vocab.txt")
CLS, SEP, MASK = 101, 102, 103


@pytest.fixture(scope="module")
def vocab():
    return dynamic_masking.MaskingVocab.from_file(VOCAB)


def _examples(vocab, whole_word, seed=7, count=200):
    static = input_pipeline.input_fn_builder(
        [RECORDS], 64, 10, is_training=False, batch_size=1
    )().unbatch().take(count)
    originals = [
        dynamic_masking.restore_original_tokens(f).numpy() for f in static
    ]
    masked = dynamic_masking.apply(
        static, vocab, 10, 0.15, whole_word, seed=seed
    )
    return originals, [{k: v.numpy() for k, v in m.items()} for m in masked]


def test_restoring_removes_every_stored_mask(vocab):
    originals, _ = _examples(vocab, whole_word=False, count=50)
    assert not any((ids == MASK).any() for ids in originals)


@pytest.mark.parametrize("whole_word", [False, True])
def test_masks_follow_the_original_rules(vocab, whole_word):
    originals, masked = _examples(vocab, whole_word)
    replaced = kept = total = 0
    for ids, m in zip(originals, masked):
        num_tokens = int(m["input_mask"].sum())
        weights = m["masked_lm_weights"]
        n = int(weights.sum())
        positions = m["masked_lm_positions"][:n]
        expected = min(10, max(1, round(num_tokens * 0.15)))
        assert (n == expected) if not whole_word else (1 <= n <= expected)
        assert list(positions) == sorted(set(positions))
        assert (positions < num_tokens).all()
        assert not np.isin(ids[positions], [CLS, SEP]).any()
        np.testing.assert_array_equal(m["masked_lm_ids"][:n], ids[positions])
        assert (m["masked_lm_ids"][n:] == 0).all() and (weights[n:] == 0).all()
        unmasked = np.setdiff1d(np.arange(64), positions)
        np.testing.assert_array_equal(m["input_ids"][unmasked], ids[unmasked])
        replaced += int((m["input_ids"][positions] == MASK).sum())
        kept += int((m["input_ids"][positions] == ids[positions]).sum())
        total += n
        if whole_word:
            chosen = set(positions.tolist())
            for p in chosen:  # a chosen word's ## pieces are all chosen
                q = p + 1
                while q < num_tokens and vocab.is_continuation[ids[q]]:
                    assert q in chosen
                    q += 1
    assert total > 1500
    assert 0.75 < replaced / total < 0.85  # 80% [MASK]
    assert 0.06 < kept / total < 0.15  # 10% unchanged (+ rare random hits)


def test_seeded_masks_are_reproducible_and_change_between_epochs(vocab):
    _, a = _examples(vocab, whole_word=False, seed=3, count=20)
    _, b = _examples(vocab, whole_word=False, seed=3, count=20)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["masked_lm_positions"], y["masked_lm_positions"])
    # The same 20 examples twice, as two epochs: new masks the second time.
    static = input_pipeline.input_fn_builder(
        [RECORDS], 64, 10, is_training=False, batch_size=1
    )().unbatch().take(20).repeat(2)
    epochs = [
        m["masked_lm_positions"].numpy()
        for m in dynamic_masking.apply(static, vocab, 10, 0.15, False, seed=3)
    ]
    changed = sum(
        not np.array_equal(x, y) for x, y in zip(epochs[:20], epochs[20:])
    )
    assert changed >= 18


def test_vocab_without_mask_token(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n")
    with pytest.raises(UserInputError, match=r"vocab.txt.*has no \[MASK\] line"):
        dynamic_masking.MaskingVocab.from_file(str(vocab))
