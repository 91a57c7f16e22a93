"""What both peers share: the batch plan `npm run bench -- --peers` wrote (the very batches the workbook's
benchmark used), the timing loop, and the JSON line each peer prints (the bench's format)."""
import json
import os
import platform
import shutil
import tempfile
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
    }
    return finished_line(line, extra)


def finished_line(line, extra=None):
    """A peer's JSON line: its figures, the machine and Python, then anything the peer adds."""
    line.update({"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()})
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


def epoch_line(model, framework, threads, plan, train_films, validation_films, prepare_seconds, epoch_seconds, loss, val_loss, extra=None):
    """One JSON line of `npm run bench -- --epoch`'s format: one whole epoch (training pass, validation pass,
    best checkpoint saved) after preparing the data and the model."""
    line = {
        "model": model,
        "framework": framework,
        "threads": threads,
        "epoch": True,
        "batchSize": plan["batchSize"],
        "trainFilms": train_films,
        "validationFilms": validation_films,
        "prepareSeconds": round(prepare_seconds, 2),
        "epochSeconds": round(epoch_seconds, 2),
        "epochSamplesPerSec": round(train_films / epoch_seconds, 1),
        "loss": round(float(loss), 4),
        "valLoss": round(float(val_loss), 4),
    }
    return finished_line(line, extra)


def epoch_batches(plan):
    """The BiLSTM's epoch from the plan: token ids padded per batch (at least one step) and labels, for the training
    batches in the workbook's order, then the validation batches."""
    spec = plan["lstm"]
    ids, labels = spec["ids"], spec["labels"]

    def batch(rows):
        return padded([ids[i] for i in rows]), [labels[i] for i in rows], [max(1, len(ids[i])) for i in rows]

    return [batch(rows) for rows in spec["trainBatches"]], [batch(rows) for rows in spec["validationBatches"]]


class ScratchFolder:
    """A temporary folder for a peer's checkpoints, removed afterwards."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="peer-epoch-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
