"""bert_tf's own flags, defined once for the five scripts, and their `main`.

The original's flags stay written out in each script, word for word and in
their order: they are the specification users hold. The flags bert_tf adds
are defined here, once, with their choices taken from the library's
constants. A script calls the `define_*` functions it needs after its own
flags; this module disclaims the flags it defines (absl's
`disclaim_key_flags`), so they belong to the calling script and appear in
its `--helpshort`.

`params_from_flags` fills a script's params dataclass, its `runner`
settings included, from the flags of the same names; `script_main` is a
script's whole `main`, and `exits_on_user_error` turns bad input into one
line on stderr.

This module lives beside the scripts, not in `bert_tf/`: the library takes
arguments and never reads flags.
"""

import functools
import sys

from absl import app
from absl import flags

from bert_tf import distribution
from bert_tf import errors
from bert_tf import optimization
from bert_tf import runner_settings

flags.disclaim_key_flags()

# Starts the help text of every flag the original did not have: absl's
# --help lists flags alphabetically, so their position cannot say it.
ADDITION = "[bert_tf addition] "


def define_precision(default):
    """--precision; extract_features defaults to fp32, the runners to auto."""
    flags.DEFINE_enum(
        "precision", default, distribution.PRECISIONS,
        ADDITION + "Compute precision. fp32 is the exact mode of the "
        "original; bf16 and fp16 are Keras mixed precision; auto is bf16 "
        "where the hardware has it (TPU, Ampere+ GPU, CPU with AVX-512 "
        "BF16/AMX), else fp32.")


def define_runner_flags():
    """The additions that run_pretraining, run_classifier and run_squad share."""
    define_precision("auto")
    flags.DEFINE_bool(
        "use_xla", False,
        ADDITION + "Compile the training (and evaluation) steps with XLA.")
    flags.DEFINE_enum(
        "optimizer", "adamw", optimization.OPTIMIZER_TYPES,
        ADDITION + "adamw: the original AdamWeightDecayOptimizer; lamb: LAMB.")
    flags.DEFINE_integer(
        "gradient_accumulation_steps", 1,
        ADDITION + "Apply the mean gradient of this many batches per "
        "optimizer step; a global step is an optimizer step.")
    flags.DEFINE_integer(
        "random_seed", None,
        ADDITION + "Seed for initialization, dropout and the input shuffle; "
        "makes a run (and its resumption) repeatable. Default: not seeded, "
        "as the original.")


def define_export_dir():
    """--export_dir of run_classifier, run_squad and extract_features."""
    flags.DEFINE_string(
        "export_dir", None,
        ADDITION + "If set, also write SavedModels that TF Serving loads, "
        "under EXPORT_DIR/<version>/ (the checkpoint's global step, else the "
        "next free number): run_classifier and run_squad export the "
        "fine-tuned model taking raw text, after the other modes; "
        "extract_features exports TF Hub's preprocessor/ and encoder/ and "
        "needs no --input_file then.")


def define_preserve_unused_tokens():
    """The bert-tensorflow 1.0.4 wheel's tokenizer flag."""
    flags.DEFINE_bool(
        "preserve_unused_tokens", False,
        ADDITION + "Keep the vocab's [unusedN] tokens whole where they "
        "appear in the text (the flag of the bert-tensorflow 1.0.4 wheel).")


def params_from_flags(params_class):
    """A `params_class` (and its `runner` settings) from the parsed flags."""
    values = {
        name: flags.FLAGS[name].value
        for name in runner_settings.field_names(params_class)
        if name in flags.FLAGS
    }
    return runner_settings.params_from_values(params_class, values)


def script_main(run, params_class):
    """A script's `main(argv)`: `run(params)` with its params from flags.

    Extra arguments are a usage error; bad input and Ctrl-C end in one line
    (`exits_on_user_error`).
    """

    @exits_on_user_error
    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
        # Nothing returned: app.run would make a returned count the exit
        # status.
        run(params_from_flags(params_class))

    return main


def exits_on_user_error(main):
    """Wraps a script's `main(argv)`: one line on stderr instead of a trace.

    Bad input exits 1 with `ERROR: <message>`; Ctrl-C exits 130 (the shell's
    code for SIGINT) with where a rerun resumes, when training was running.
    """

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except errors.UserInputError as e:
            sys.exit(f"ERROR: {e}")
        except KeyboardInterrupt as e:
            print(f"Interrupted: {e}" if str(e) else "Interrupted",
                  file=sys.stderr)
            sys.exit(130)

    return wrapper
