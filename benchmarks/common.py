"""Shared helpers of the model benchmarks: machine line, timing, tables.

`interleave` times several variants round-robin, so that a change in the
machine's load (other processes on a shared box) hits every variant alike;
the first call of each variant (tracing, XLA compilation) is timed apart and
never counted in the repeats. `rows_against_peer` gives the columns that the
benchmarks against KerasHub share, and `keras_hub_backbone` the peer model.
Nothing here imports bert_tf, and TensorFlow, Keras and keras-hub are
imported only inside the functions that use them, so that the benchmarks
that keep them out of their process can share `cpu_model`.
"""

import os
import platform
import statistics
import time


def cpu_model():
    """The CPU model name from /proc/cpuinfo, else platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags():
    """The bf16-related CPU flags present (avx512_bf16, amx_bf16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    return [flag for flag in ("avx512_bf16", "amx_bf16") if flag in text]


def machine_lines(default_precision):
    """Lines describing the machine and the software, for the report.

    Args:
      default_precision: what bert_tf's `--precision=auto` resolves to here.
    """
    import keras  # pylint: disable=g-import-not-at-top
    import keras_hub  # pylint: disable=g-import-not-at-top
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    threads = tf.config.threading
    flags = ", ".join(cpu_flags()) or "no bf16 flags"
    return [
        f"CPU: {cpu_model()} ({flags}); {usable} usable cores of "
        f"{os.cpu_count()}; load average at start {load:.2f}",
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; oneDNN "
        f"opts {os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default (on)')}; "
        f"threads intra-op {threads.get_intra_op_parallelism_threads() or 'auto'}"
        f", inter-op {threads.get_inter_op_parallelism_threads() or 'auto'}",
        f"keras-hub {keras_hub.__version__}; bert_tf default here: "
        f"--precision=auto -> {default_precision}, --use_xla=False",
    ]


def add_timing_arguments(parser):
    """--repeats, --warmup and --variants (a list of name substrings)."""
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--variants",
        type=lambda text: [v for v in text.split(",") if v],
        default=[],
        help="comma list of substrings; only matching variants run "
        "(default: all)",
    )


# KerasHub's BertBackbone argument for each BertConfig field.
_KERAS_HUB_ARGUMENTS = {
    "vocabulary_size": "vocab_size",
    "num_layers": "num_hidden_layers",
    "num_heads": "num_attention_heads",
    "hidden_dim": "hidden_size",
    "intermediate_dim": "intermediate_size",
    "max_sequence_length": "max_position_embeddings",
}


def keras_hub_backbone(config, dtype):
    """KerasHub's `BertBackbone` of the shape of `config` (a BertConfig)."""
    import keras_hub  # pylint: disable=g-import-not-at-top

    arguments = {
        theirs: getattr(config, ours)
        for theirs, ours in _KERAS_HUB_ARGUMENTS.items()
    }
    return keras_hub.models.BertBackbone(**arguments, dtype=dtype)


def timed(fn):
    """Wall-clock seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(variants, repeats, warmup=1):
    """Times variants round-robin; returns (first_call_s, wall_s, cpu_s).

    Args:
      variants: dict name -> zero-argument callable that runs one unit of
        work and blocks until its result is ready.
      repeats: timed calls per variant.
      warmup: untimed calls per variant after the first one.

    Returns:
      ({name: wall seconds of the first call}, {name: [wall seconds per
      repeat]}, {name: [CPU seconds of this process per repeat]}). Each
      round starts one variant later than the previous one, so no variant
      always runs right after the same neighbour. CPU time is less
      sensitive than wall time to other processes taking the cores, but it
      also counts threads spinning while they wait for work.
    """
    names = list(variants)
    first = {name: timed(variants[name]) for name in names}
    for _ in range(warmup):
        for name in names:
            variants[name]()
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            cpu_start, start = time.process_time(), time.perf_counter()
            variants[name]()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    return first, wall, cpu


def median(values):
    return statistics.median(values)


def spread(values):
    """(min, max) relative to the median, as a short string."""
    mid = statistics.median(values)
    return f"{min(values) / mid:.2f}-{max(values) / mid:.2f}"


def rows_against_peer(times, cpu, batch_size, default_name, peer="keras_hub"):
    """The table columns of the benchmarks against a peer, one row a variant.

    Args:
      times: {variant name: [wall seconds per step]}.
      cpu: {variant name: [CPU seconds per step]}.
      batch_size: examples per step.
      default_name: the variant users get by default, marked "(default)".
      peer: prefix of the peer's variant names.

    Returns:
      (best_peer, {name: row}): the fastest peer variant (None without one),
      and rows of variant, ms, min-max, examples/s, speed relative to
      best_peer and CPU ms, to which callers add their own columns.
    """
    medians = {name: median(t) for name, t in times.items()}
    peers = [name for name in medians if name.startswith(peer)]
    best_peer = min(peers, key=medians.get) if peers else None
    rows = {}
    for name, seconds in medians.items():
        ratio = medians[best_peer] / seconds if best_peer else float("nan")
        rows[name] = [
            name + (" (default)" if name == default_name else ""),
            f"{seconds * 1e3:.1f}",
            spread(times[name]),
            f"{batch_size / seconds:.1f}",
            f"{ratio:.2f}x",
            f"{median(cpu[name]) * 1e3:.0f}",
        ]
    return best_peer, rows


def format_table(headers, rows):
    """Plain-text table; numbers are expected pre-formatted as strings."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows)
    ]

    def line(cells):
        return "  ".join(
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule] + [line(row) for row in rows])
