"""What both peers share: the batch plan `npm run bench -- --peers` wrote (the very batches the workbook's
benchmark used), the timing loop, and the JSON line each peer prints (the bench's format)."""
import json
import os
import platform
import time


def load_plan(path):
    """The bench's batch plan: batch size, the CNN's poster size and step counts, the LSTM's batches of token
    ids (in the order the workbook used them: warm-up, measured training steps, then prediction batches)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def timed(step, first, count):
    """Seconds that `count` calls of step(i) take, for i = first, first + 1, ..."""
    start = time.perf_counter()
    for i in range(first, first + count):
        step(i)
    return time.perf_counter() - start


def thread_report():
    """The thread pools of the native libraries loaded in this process (threadpoolctl), e.g. MKL, OpenBLAS, OpenMP."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl is not installed"}]
    return [
        {"library": i.get("internal_api"), "prefix": i.get("prefix"), "threads": i.get("num_threads")}
        for i in threadpool_info()
    ]


def cpu_name():
    """The processor's model name (/proc/cpuinfo), as the workbook's bench reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def result_line(model, framework, threads, plan, train_seconds, predict_seconds, extra=None):
    """One JSON line in `npm run bench`'s format."""
    n = plan["batchSize"]
    steps = plan["steps"]
    predict_steps = plan["predictSteps"]
    line = {
        "model": model,
        "framework": framework,
        "threads": threads,
        "batchSize": n,
        "trainSamplesPerSec": round(n * steps / train_seconds, 1),
        "predictSamplesPerSec": round(n * predict_steps / predict_seconds, 1),
        "stepsPerSecond": round(steps / train_seconds, 2),
        "predictStepsPerSecond": round(predict_steps / predict_seconds, 2),
        "trainSteps": steps,
        "trainSeconds": round(train_seconds, 2),
        "predictSteps": predict_steps,
        "predictSeconds": round(predict_seconds, 2),
        "warmupSteps": plan["warmup"],
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    if extra:
        line.update(extra)
    return json.dumps(line)


def lstm_batches(plan):
    """The LSTM's batches as [(ids per film, labels per film)], in the order the workbook used them."""
    return [(b["ids"], b["labels"]) for b in plan["lstm"]["batches"]]


def padded(ids, pad=0):
    """Token id lists padded with `pad` to the longest of them (what the workbook's batches are)."""
    width = max(1, max(len(x) for x in ids))
    return [list(x) + [pad] * (width - len(x)) for x in ids]
