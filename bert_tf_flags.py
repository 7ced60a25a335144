"""bert_tf's own flags, defined once for the five scripts, and their `main`.

The original's flags stay written out in each script, word for word and in
their order: they are the specification users hold. The flags bert_tf adds
are defined here, once, with their choices taken from the library's
constants. A script calls the `define_*` functions it needs after its own
flags; this module disclaims the flags it defines (absl's
`disclaim_key_flags`), so they belong to the calling script and appear in
its `--helpshort`.

`params_from_flags` fills a script's params dataclass, its `runner`
settings included, from the flags of the same names, and
`exits_on_user_error` turns bad input into one line on stderr.

This module lives beside the scripts, not in `bert_tf/`: the library takes
arguments and never reads flags.
"""

import functools
import sys

from absl import flags

from bert_tf import distribution
from bert_tf import errors
from bert_tf import optimization
from bert_tf import runner_settings

flags.disclaim_key_flags()


def define_precision(default):
    """--precision; extract_features defaults to fp32, the runners to auto."""
    flags.DEFINE_enum(
        "precision", default, distribution.PRECISIONS,
        "Compute precision. fp32 is the exact mode of the original; bf16 "
        "and fp16 are Keras mixed precision; auto is bf16 where the "
        "hardware has it (TPU, Ampere+ GPU, CPU with AVX-512 BF16/AMX), "
        "else fp32.")


def define_runner_flags():
    """The additions that run_pretraining, run_classifier and run_squad share."""
    define_precision("auto")
    flags.DEFINE_bool(
        "use_xla", False,
        "Compile the training (and evaluation) steps with XLA.")
    flags.DEFINE_enum(
        "optimizer", "adamw", optimization.OPTIMIZER_TYPES,
        "adamw: the original AdamWeightDecayOptimizer; lamb: LAMB.")
    flags.DEFINE_integer(
        "gradient_accumulation_steps", 1,
        "Apply the mean gradient of this many batches per optimizer step.")
    flags.DEFINE_integer(
        "random_seed", None,
        "Seed for initialization, dropout and the input shuffle; makes a run "
        "(and its resumption) repeatable. Default: not seeded, as the "
        "original.")


def define_preserve_unused_tokens():
    """The bert-tensorflow 1.0.4 wheel's tokenizer flag."""
    flags.DEFINE_bool(
        "preserve_unused_tokens", False,
        "Keep the vocab's [unusedN] tokens whole where they appear in the text "
        "(the flag of the bert-tensorflow 1.0.4 wheel).")


def params_from_flags(params_class):
    """A `params_class` (and its `runner` settings) from the parsed flags."""
    values = {
        name: flags.FLAGS[name].value
        for name in runner_settings.field_names(params_class)
        if name in flags.FLAGS
    }
    return runner_settings.params_from_values(params_class, values)


def exits_on_user_error(main):
    """Wraps a script's `main(argv)`: bad input exits 1 with one line."""

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except errors.UserInputError as e:
            sys.exit(f"ERROR: {e}")

    return wrapper
