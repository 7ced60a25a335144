"""Instance sampling: the reference's rng order, on SPEC 5.7 and worked cases.

Pure Python (no TensorFlow); the full fixture runs are in
create_pretraining_data_test.py.
"""

import io
import random

import pytest

from bert_tf import tokenization
from bert_tf.pretraining import corpus as corpus_lib
from bert_tf.pretraining import instances
from bert_tf.pretraining import masking
from bert_tf.pretraining import python_random

# SPEC 5.7: the tiny vocab (ids 0..27) and input.
SPEC_VOCAB = ("[PAD] [UNK] [CLS] [SEP] [MASK] the cat sat on mat a dog ran far "
              "away it was happy sun is hot today birds sing ##s ##ing . ,")
SPEC_INPUT = """The cat sat on the mat.
It was happy, the cat.
The dog ran far away.

The sun is hot today.
Birds sing.
The birds sings singing.
A dog sat.

Cats ran away today.
"""
SPEC_SETTINGS = dict(max_seq_length=16, dupe_factor=2, short_seq_prob=0.1,
                     masked_lm_prob=0.15, max_predictions_per_seq=3)

# tokens | segment_ids | is_random_next | positions | labels (SPEC 5.7).
SPEC_EXPECTED = {
    False: """
[CLS] sun is hot today . [MASK] [MASK] [SEP] the dog ran far away . [SEP] | 0000000001111111 | 1 | [6, 7] | birds sing
[CLS] cat ##s ran away [MASK] . [SEP] the dog ran far [MASK] . [SEP] | 000000001111111 | 1 | [5, 12] | today away
[CLS] the dog ran far away . [SEP] . the [MASK] sing ##s sing [MASK] [SEP] | 0000000011111111 | 1 | [10, 14] | birds ##ing
[CLS] a dog [MASK] . [SEP] , the cat . the [MASK] ran far away [SEP] | 0000001111111111 | 1 | [3, 11] | sat dog
[CLS] it [MASK] happy , [MASK] cat . [SEP] cat ##s ran away today . [SEP] | 0000000001111111 | 1 | [2, 5] | was the
[CLS] the cat sat on the mat . [SEP] a dog sat [MASK] [SEP] | 00000000011111 | 1 | [7, 12] | . .
[CLS] a dog sat [MASK] [SEP] cat ##s ran away today [MASK] [SEP] | 0000001111111 | 1 | [4, 11] | . .
[CLS] the sun is hot today . birds [SEP] [MASK] sing ##s [MASK] ##ing . [SEP] | 0000000001111111 | 0 | [9, 12] | birds sing
[CLS] the [MASK] ran on away . [SEP] sing . the birds sing ##s sing [SEP] | 0000000011111111 | 1 | [2, 4] | dog far
[CLS] the birds sing ##s sing ##ing . [SEP] [MASK] happy [MASK] the cat . [SEP] | 0000000001111111 | 1 | [9, 11] | was ,
[CLS] the cat sat on the mat . [SEP] [MASK] happy , ##s cat . [SEP] | 0000000001111111 | 0 | [9, 12] | was the
[CLS] cat ##s ran away today . [SEP] it [MASK] happy , the cat . [SEP] | 0000000011111111 | 1 | [9, 12] | was the
""",
    True: """
[CLS] the dog ran far away . [SEP] hot birds sing ##s sing ##ing . [SEP] | 0000000011111111 | 1 | [8, 14] | the .
[CLS] a dog sat . [SEP] [MASK] was [MASK] , the cat . the dog [SEP] | 0000001111111111 | 1 | [6, 8] | it happy
[CLS] the dog ran [MASK] away [MASK] [SEP] a dog sat . [SEP] | 0000000011111 | 1 | [4, 6] | far .
[CLS] a dog [MASK] . [SEP] the mat . it was [MASK] , the cat [SEP] | 0000001111111111 | 1 | [3, 11] | sat happy
[CLS] the cat sat on [MASK] mat . [SEP] cat ##s ran [MASK] today . [SEP] | 0000000001111111 | 1 | [5, 12] | the away
[CLS] cat ##s ran away today . [SEP] [MASK] dog sat . [SEP] | 0000000011111 | 1 | [8, 9] | a dog
[CLS] the birds sing ##s [MASK] [MASK] . [SEP] cat sat on the mat . [SEP] | 0000000001111111 | 1 | [5, 6] | sing ##ing
[CLS] sun is hot today . birds sing [SEP] [MASK] sat [MASK] the mat . [SEP] | 0000000001111111 | 1 | [9, 11] | cat on
[CLS] it was happy , the cat . [SEP] cat ##s ran away [MASK] [MASK] [SEP] | 0000000001111111 | 1 | [13, 14] | today .
[CLS] the sun is hot today . [SEP] the birds [MASK] [MASK] sing ##ing . [SEP] | 0000000011111111 | 0 | [10, 11] | sing ##s
[CLS] the cat sat on [MASK] mat . [SEP] it was happy , [MASK] cat [SEP] | 0000000001111111 | 0 | [5, 13] | the the
[CLS] cat ##s [MASK] away today . [SEP] [MASK] was happy , the cat . [SEP] | 0000000011111111 | 1 | [3, 8] | ran it
""",
}


@pytest.fixture
def spec_tokenizer(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(SPEC_VOCAB.split()) + "\n", encoding="utf-8")
    return tokenization.FullTokenizer(str(path), do_lower_case=True)


def _summary(instance):
    return (f"{' '.join(instance.tokens)} | "
            f"{''.join(str(s) for s in instance.segment_ids)} | "
            f"{int(instance.is_random_next)} | "
            f"{instance.masked_lm_positions} | "
            f"{' '.join(instance.masked_lm_labels)}")


def _lines(text):
    return text.encode("utf-8").split(b"\n")


def test_rng_matches_spec_check_values():
    rng = random.Random(12345)
    draws = [python_random.randbelow(rng.getrandbits, 10) for _ in range(10)]
    assert draws == [6, 0, 4, 5, 3, 4, 9, 6, 2, 5]
    x = list(range(10))
    python_random.shuffle(x, random.Random(12345))
    assert x == [8, 7, 3, 5, 1, 2, 9, 4, 0, 6]


@pytest.mark.parametrize("length", [1, 2, 3, 64, 1024, 1025, 3000])
def test_shuffle_draws_like_cpython(length):
    ours, theirs = random.Random(length), random.Random(length)
    x, y = list(range(length)), list(range(length))
    python_random.shuffle(x, ours)
    theirs.shuffle(y)
    assert x == y
    assert ours.random() == theirs.random()


@pytest.mark.parametrize("num_tokens, expected",
                         [(10, 2), (30, 4), (50, 8), (70, 10), (128, 19),
                          (512, 20)])
def test_num_to_predict_rounds_half_to_even(num_tokens, expected):
    assert masking.num_to_predict(num_tokens, 0.15, 20) == expected


def test_num_to_predict_for_512_tokens():
    assert masking.num_to_predict(512, 0.15, 80) == 77


def test_truncate_seq_pair_worked_example():
    # Seed 12345 draws 0.4166, 0.0101, 0.8252: front, front, back.
    tokens_a, tokens_b = list("abcdef"), list("xy")
    instances.truncate_seq_pair(tokens_a, tokens_b, 5, random.Random(12345))
    assert (tokens_a, tokens_b) == (list("cde"), list("xy"))


def test_truncate_seq_pair_cuts_b_on_ties():
    tokens_a, tokens_b = list("ab"), list("xy")
    instances.truncate_seq_pair(tokens_a, tokens_b, 3, random.Random(12345))
    assert (tokens_a, tokens_b) == (list("ab"), list("y"))


@pytest.mark.parametrize("do_whole_word_mask", [False, True])
def test_spec_golden_vectors(spec_tokenizer, do_whole_word_mask):
    result = instances.create_training_instances(
        [_lines(SPEC_INPUT)], spec_tokenizer, rng=random.Random(12345),
        do_whole_word_mask=do_whole_word_mask, **SPEC_SETTINGS)
    expected = SPEC_EXPECTED[do_whole_word_mask].strip().split("\n")
    assert [_summary(i) for i in result] == expected


@pytest.mark.parametrize("do_whole_word_mask", [False, True])
def test_spec_golden_vectors_through_the_str_functions(spec_tokenizer,
                                                       do_whole_word_mask):
    """The reference's driver loop over the str-token functions."""
    documents = [[]]
    for line in SPEC_INPUT.split("\n"):
        line = line.strip()
        if not line:
            documents.append([])
        tokens = spec_tokenizer.tokenize(line)
        if tokens:
            documents[-1].append(tokens)
    documents = [d for d in documents if d]
    rng = random.Random(12345)
    rng.shuffle(documents)
    vocab_words = list(spec_tokenizer.vocab.keys())
    result = []
    for _ in range(SPEC_SETTINGS["dupe_factor"]):
        for index in range(len(documents)):
            result.extend(instances.create_instances_from_document(
                documents, index, 16, 0.1, 0.15, 3, vocab_words, rng,
                do_whole_word_mask))
    rng.shuffle(result)
    expected = SPEC_EXPECTED[do_whole_word_mask].strip().split("\n")
    assert [_summary(i) for i in result] == expected


def test_whole_word_mask_joins_piece_after_sep_to_word_before():
    tokens = ["[CLS]", "cat", "[SEP]", "##s", "[SEP]"]
    for seed in range(5):
        output, positions, labels = masking.create_masked_lm_predictions(
            tokens, 0.5, 5, ["x"], random.Random(seed),
            do_whole_word_mask=True)
        # One group {1, 3} of the two allowed predictions.
        assert positions == [1, 3]
        assert labels == ["cat", "##s"]
        assert output[0] == "[CLS]" and output[2] == output[4] == "[SEP]"


def test_whole_word_mask_skips_groups_over_budget():
    tokens = ["[CLS]", "cat", "##s", "[SEP]", "[SEP]"]
    # round(5 * 0.15) = 1 prediction: the only group has 2 pieces.
    _, positions, _ = masking.create_masked_lm_predictions(
        tokens, 0.15, 5, ["x"], random.Random(0), do_whole_word_mask=True)
    assert positions == []


@pytest.mark.parametrize("seed", range(20))
def test_masking_draws_in_reference_order(seed):
    # The reference's draws, spelled out for one prediction: shuffle the
    # candidates, then random() < 0.8 -> [MASK], else random() < 0.5 -> keep,
    # else vocab_words[randint(0, len - 1)].
    tokens = ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"]
    vocab_words = ["v0", "v1", "v2"]
    reference = random.Random(seed)
    candidates = [1, 2, 4]
    reference.shuffle(candidates)
    first = candidates[0]
    if reference.random() < 0.8:
        replacement = "[MASK]"
    elif reference.random() < 0.5:
        replacement = tokens[first]
    else:
        replacement = vocab_words[reference.randint(0, 2)]
    rng = random.Random(seed)
    output, positions, labels = masking.create_masked_lm_predictions(
        tokens, 0.15, 1, vocab_words, rng)
    assert positions == [first]
    assert labels == [tokens[first]]
    assert output[first] == replacement
    assert rng.random() == reference.random()


def _corpus_tokens(corpus, tokenizer):
    """Documents as lists of segments of str tokens."""
    inverse = {i: w for w, i in tokenizer.vocab.items()}
    documents = []
    seg, docs = corpus.segment_starts, corpus.document_starts
    for d in range(corpus.num_documents):
        documents.append([
            [inverse[t] for t in corpus.tokens[seg[s]:seg[s + 1]]]
            for s in range(docs[d], docs[d + 1])])
    return documents


def test_read_corpus_edge_cases(spec_tokenizer):
    part1 = (b"The cat sat.\n\n\n"  # two blank lines: one empty document
             b"\xe2\x80\x8b\n"  # U+200B only: dropped, no new document
             b"  \tthe dog ran .\t \n"
             b"sun is hot")  # no newline: the next file continues it
    part2 = b" today\xff .\nbirds sing\n\n"  # \xff dropped (UTF-8 "ignore")
    corpus = corpus_lib.read_corpus([io.BytesIO(part1), io.BytesIO(part2)],
                                    spec_tokenizer)
    assert _corpus_tokens(corpus, spec_tokenizer) == [
        [["the", "cat", "sat", "."]],
        [["the", "dog", "ran", "."], ["sun", "is", "hot"],
         ["today", "."], ["birds", "sing"]],
    ]


def test_read_corpus_blank_line_is_unicode_whitespace(spec_tokenizer):
    lines = ["the cat", "\u3000\u00a0", "the dog"]
    corpus = corpus_lib.read_corpus([lines], spec_tokenizer)
    assert _corpus_tokens(corpus, spec_tokenizer) == [
        [["the", "cat"]], [["the", "dog"]]]


def test_read_corpus_shards_by_document_index(spec_tokenizer):
    # Documents 0..4, document 2 empty (two blank lines in a row).
    text = "the cat\n\nthe dog\n\n\nsun\n\nbirds\n"
    shards = [
        _corpus_tokens(corpus_lib.read_corpus([_lines(text)], spec_tokenizer,
                                              shard, 2), spec_tokenizer)
        for shard in (0, 1)]
    assert shards == [[[["the", "cat"]], [["birds"]]],
                      [[["the", "dog"]], [["sun"]]]]


def test_instance_store_round_trip(tmp_path):
    with open(tmp_path / "store", "w+b", buffering=0) as f:
        store = corpus_lib.InstanceStore(f, max_predictions_per_seq=3)
        store.append(0, 5, 5, 9, True, [(1, 4), (7, 103)])
        store.append(10, 12, 40, 41, False, [(2, 2), (3, 9), (4, 30521)])
        store.append(1, 2, 3, 4, False, [])
        assert len(store) == 3
        assert store[1] == (10, 12, 40, 41, False, [(2, 2), (3, 9), (4, 30521)])
        assert store[0] == (0, 5, 5, 9, True, [(1, 4), (7, 103)])
        assert store[2] == (1, 2, 3, 4, False, [])


def test_shuffled_indices_is_the_reference_shuffle():
    expected = list(range(1000))
    rng = random.Random(7)
    rng.shuffle(expected)
    assert list(instances.shuffled_indices(1000, random.Random(7))) == expected
