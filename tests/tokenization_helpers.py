"""The tokenization golden files, shared by the Python and in-graph tests."""

import pathlib

TOKENIZATION = pathlib.Path(__file__).parent / "testdata" / "tokenization"
VOCABS = {
    "tiny": TOKENIZATION.parent / "tiny_model" / "vocab.txt",
    "uncased": TOKENIZATION.parent / "vocab" / "uncased_vocab.txt",
}
# expected.jsonl key -> (vocab, do_lower_case).
CONFIGS = {
    "tiny_lower": ("tiny", True),
    "tiny_cased": ("tiny", False),
    "uncased_lower": ("uncased", True),
    "uncased_cased": ("uncased", False),
}
