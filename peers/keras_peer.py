"""Peer figures: the coursework CNN and BiLSTM in Keras 3 on TensorFlow's CPU build, trained and run on the very
batches `npm run bench -- --peers` used (its batch plan), with `threads` intra-op threads and one inter-op thread.
Prints one JSON line per model in the bench's format, with the thread pools TensorFlow reports.
An "epoch" plan (`npm run bench -- --epoch --peers`) times one whole epoch instead: the template's poster pipeline
(or the workbook's token ids, padded per batch), then `fit` for one epoch with the coursework's schedule, precision
and recall, the validation films and a best-val_loss ModelCheckpoint, as a Keras user trains.
Usage: keras_peer.py PLAN.json [THREADS]"""
import math
import os
import sys
import time

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

from common import ScratchFolder, epoch_batches, epoch_line, load_plan, lstm_batches, padded, result_line, thread_report, timed  # noqa: E402
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


def template_poster(file, size):
    """The coursework template's pipeline: decode the JPEG, scale to [0, 1], tf.image.resize bilinear."""
    image = tf.image.convert_image_dtype(tf.io.decode_jpeg(tf.io.read_file(file), channels=3), tf.float32)
    return tf.image.resize(image, (size, size), method="bilinear").numpy()


def fit_one_epoch(model, plan, train_ds, val_ds):
    """compile + fit for one epoch as the coursework does, with a best-val_loss checkpoint; (loss, val_loss, seconds)."""
    lr0 = plan["learningRate"]
    model.compile(
        optimizer=keras.optimizers.Adam(lr0),
        loss="binary_crossentropy",
        metrics=[keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")],
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr0 * math.exp(-0.01 * max(0, epoch + 1 - 10)))
    with ScratchFolder() as folder:
        checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_loss", save_best_only=True)
        started = time.perf_counter()
        history = model.fit(train_ds, validation_data=val_ds, epochs=1, callbacks=[schedule, checkpoint], verbose=0).history
        seconds = time.perf_counter() - started
    return history["loss"][0], history["val_loss"][0], seconds


def cnn_epoch(plan):
    spec = plan["cnn"]
    size, n, files = spec["imageSize"], spec["trainFilms"], spec["files"]
    started = time.perf_counter()
    posters = np.stack([template_poster(f, size) for f in files])
    labels = np.array(spec["labels"], dtype=np.float32)
    keras.utils.set_random_seed(plan["seed"])
    model = build_cnn(size, plan["genres"])
    train_ds = tf.data.Dataset.from_tensor_slices((posters[:n], labels[:n])).shuffle(n, seed=plan["seed"]).batch(plan["batchSize"])
    val_ds = tf.data.Dataset.from_tensor_slices((posters[n:], labels[n:])).batch(plan["batchSize"])
    prepare = time.perf_counter() - started
    loss, val_loss, seconds = fit_one_epoch(model, plan, train_ds, val_ds)
    return epoch_line("cnn", framework(), threads_used(), plan, n, len(files) - n, prepare, seconds, loss, val_loss, {"posters": "tf.io.decode_jpeg + tf.image.resize, every film"})


def lstm_epoch(plan):
    started = time.perf_counter()
    train, validation = epoch_batches(plan)
    genres = plan["genres"]

    def dataset(batches):
        arrays = [(np.array(ids, dtype=np.int32), np.array(labels, dtype=np.float32)) for ids, labels, _ in batches]
        spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, genres), tf.float32))
        return tf.data.Dataset.from_generator(lambda: iter(arrays), output_signature=spec)

    keras.utils.set_random_seed(plan["seed"])
    model = build_lstm(plan["lstm"]["vocabularySize"], genres)
    train_ds, val_ds = dataset(train), dataset(validation)
    prepare = time.perf_counter() - started
    loss, val_loss, seconds = fit_one_epoch(model, plan, train_ds, val_ds)
    films = lambda batches: sum(len(b[1]) for b in batches)
    return epoch_line("lstm", framework(), threads_used(), plan, films(train), films(validation), prepare, seconds, loss, val_loss, {"masked": True})


def main():
    plan = load_plan(sys.argv[1])
    if plan.get("epoch"):
        for model, epoch in (("cnn", cnn_epoch), ("lstm", lstm_epoch)):
            if model in plan:
                print(epoch(plan), flush=True)
        return
    if "cnn" in plan:
        print(bench_cnn(plan), flush=True)
    if "lstm" in plan:
        print(bench_lstm(plan), flush=True)


if __name__ == "__main__":
    main()
