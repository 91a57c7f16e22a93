"""Where a Keras training step and prediction step spend their time, from TensorFlow's own profiler: the coursework
CNN (or BiLSTM) on random batches of 64, 2 intra-op threads. Prints, per phase, the step's wall time and the ops'
total time per op type (TensorFlow's names after its graph passes, e.g. _MklNativeFusedConv2D), as JSON.
Usage: keras_profile.py cnn|lstm [STEPS]"""
import glob
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402

from keras_models import build_cnn, build_lstm  # noqa: E402

MODEL = sys.argv[1] if len(sys.argv) > 1 else "cnn"
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def batches():
    rng = np.random.default_rng(1)
    ys = (rng.random((64, 25)) < 0.1).astype(np.float32)
    if MODEL == "cnn":
        return build_cnn(64), rng.random((64, 64, 64, 3), dtype=np.float32), ys
    model = build_lstm(5000)
    return model, rng.integers(1, 5000, (64, 27)).astype(np.int32), ys


def op_times(logdir):
    """Total microseconds per op type over every plane's TensorFlow op events."""
    totals = {}
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            names = {k: m.name for k, m in plane.event_metadata.items()}
            for line in plane.lines:
                if line.name not in ("TensorFlow Ops", "XLA Ops") and "tf_Compute" not in line.name and "tf_" not in line.name:
                    continue
                for event in line.events:
                    name = names.get(event.metadata_id, "?")
                    # "name:OpType" in TensorFlow's executor traces
                    op = name.split(":")[-1] if ":" in name else name
                    totals[op] = totals.get(op, 0) + event.duration_ps / 1e6
    return totals


def profile(phase, step):
    for _ in range(3):
        step()
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    t = time.perf_counter()
    for _ in range(STEPS):
        step()
    wall = (time.perf_counter() - t) / STEPS * 1e3
    tf.profiler.experimental.stop()
    # "Process" (the whole step) and "ParallelFor" (inside ops) are not ops of their own
    totals = sorted(((k, v) for k, v in op_times(logdir).items() if k not in ("Process", "ParallelFor")), key=lambda kv: -kv[1])
    return {"phase": phase, "stepMs": round(wall, 1), "ops": [[k, round(v / STEPS / 1e3, 2)] for k, v in totals[:30]]}


model, x, y = batches()
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
print(json.dumps(profile("train", lambda: model.train_on_batch(x, y))))
print(json.dumps(profile("predict", lambda: model.predict_on_batch(x))))
