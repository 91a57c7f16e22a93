"""Peer figures: the coursework CNN and BiLSTM in Keras 3 on TensorFlow's CPU build, trained and run on the very
batches `npm run bench -- --peers` used (its batch plan), with `threads` intra-op threads and one inter-op thread.
Prints one JSON line per model in the bench's format, with the thread pools TensorFlow reports.
Usage: keras_peer.py PLAN.json [THREADS]"""
import os
import sys

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
# Before TensorFlow loads: its own pools, and no BLAS pool of numpy's competing with them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402

from common import load_plan, lstm_batches, padded, result_line, thread_report, timed  # noqa: E402
from keras_models import build_cnn, build_lstm  # noqa: E402


def framework():
    return f"keras {keras.__version__} (tensorflow {tf.__version__}, CPU)"


def threads_used():
    return {
        "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
        "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
        "pools": thread_report(),
    }


def compiled(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
    return model


def bench_cnn(plan):
    n, size = plan["batchSize"], plan["cnn"]["imageSize"]
    rng = np.random.default_rng(1)
    model = compiled(build_cnn(size))
    # Random posters and labels, as the workbook's bench: only the shapes matter for the timing.
    xs = [rng.random((n, size, size, 3), dtype=np.float32) for _ in range(4)]
    ys = [(rng.random((n, 25)) < 0.1).astype(np.float32) for _ in range(4)]
    step = lambda i: model.train_on_batch(xs[i % 4], ys[i % 4])
    timed(step, 0, plan["warmup"])
    train = timed(step, plan["warmup"], plan["steps"])
    predict_step = lambda i: model.predict_on_batch(xs[i % 4])
    timed(predict_step, 0, plan["predictWarmup"])
    predict = timed(predict_step, 0, plan["predictSteps"])
    return result_line("cnn", framework(), threads_used(), plan, train, predict, {"params": model.count_params()})


def bench_lstm(plan):
    batches = lstm_batches(plan)
    model = compiled(build_lstm(plan["lstm"]["vocabularySize"]))
    data = [(np.array(padded(ids), dtype=np.int32), np.array(labels, dtype=np.float32)) for ids, labels in batches]
    lengths = []

    def step(i):
        x, y = data[i]
        if i >= plan["warmup"]:
            lengths.append(x.shape[1])
        model.train_on_batch(x, y)

    timed(step, 0, plan["warmup"])
    train = timed(step, plan["warmup"], plan["steps"])
    first = plan["warmup"] + plan["steps"]
    predict_step = lambda i: model.predict_on_batch(data[i][0])
    timed(predict_step, first, plan["predictWarmup"])
    predict = timed(predict_step, first + plan["predictWarmup"], plan["predictSteps"])
    extra = {
        "params": model.count_params(),
        "texts": "real",
        "batching": plan["lstm"]["batching"],
        "meanSequenceLength": round(sum(lengths) / len(lengths), 1),
        "masked": True,
    }
    return result_line("lstm", framework(), threads_used(), plan, train, predict, extra)


def main():
    plan = load_plan(sys.argv[1])
    if "cnn" in plan:
        print(bench_cnn(plan), flush=True)
    if "lstm" in plan:
        print(bench_lstm(plan), flush=True)


if __name__ == "__main__":
    main()
