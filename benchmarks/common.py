"""Shared helpers of the model benchmarks: machine line, timing, tables.

`interleave` times several variants round-robin, so that a change in the
machine's load (other processes on a shared box) hits every variant alike;
the first call of each variant (tracing, XLA compilation) is timed apart and
never counted in the repeats. Nothing here imports bert_tf or keras-hub,
and only `machine_lines` imports TensorFlow, so that the benchmarks that keep
it out of their process can share `cpu_model`.
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


def machine_lines():
    """Lines describing the machine and the software, for the report."""
    import keras  # pylint: disable=g-import-not-at-top
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
    ]


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
