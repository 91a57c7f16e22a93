"""The workbook checked against Keras itself (`npm run parity`). The workbook writes what it computed into an
exchange folder (manifest.json and raw float32/uint8/int32 files); this script computes the same with Keras and
TensorFlow and compares, writing one row per check (what, tolerance, measured difference, whether it is within)
to results.json in the same folder. Usage: keras_parity.py EXCHANGE_DIR [THREADS]"""
import json
import math
import os
import sys
import time

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402
from keras import layers  # noqa: E402

from keras_models import build_cnn, build_lstm  # noqa: E402

EXCHANGE = sys.argv[1]
ROWS = []


def path(name):
    return os.path.join(EXCHANGE, name)


def read(name, dtype, shape):
    return np.fromfile(path(name), dtype=dtype).reshape(shape)


def row(group, check, tolerance, measured, ok, note="", explained=None):
    """One check. A check outside its tolerance for a known reason that is not the workbook's to fix is 'explained'
    (the reason in `explained`); otherwise it 'differs', and `npm run parity` fails."""
    status = "ok" if ok else ("explained" if explained else "differs")
    ROWS.append({"group": group, "check": check, "tolerance": tolerance, "measured": measured, "ok": bool(ok), "status": status, "note": note, "explanation": explained or ""})
    tag = {"ok": "ok  ", "explained": "EXPL", "differs": "FAIL"}[status]
    print(f"{tag} {group}: {check}: {measured} (tolerance {tolerance}){' - ' + note if note else ''}{' - ' + explained if explained and not ok else ''}", flush=True)


def fmt(x):
    return f"{x:.3g}" if isinstance(x, float) else str(x)


# ---------------------------------------------------------------------------------------------------------------
# TextVectorization


def check_text(spec):
    with open(path(spec["file"]), encoding="utf-8") as f:
        data = json.load(f)
    vectorizer = layers.TextVectorization(max_tokens=spec["maxTokens"])
    vectorizer.adapt(tf.constant(data["train"]))
    vocabulary = [t if isinstance(t, str) else t.decode("utf-8") for t in vectorizer.get_vocabulary()]
    theirs = data["vocabulary"]
    first = next((i for i, (a, b) in enumerate(zip(vocabulary, theirs)) if a != b), None)
    same = first is None and len(vocabulary) == len(theirs)
    row(
        "TextVectorization",
        f"adapt(max_tokens={spec['maxTokens']}) on the {len(data['train'])} training overviews: the same vocabulary in the same order",
        "identical",
        f"{len(vocabulary)} vs {len(theirs)} entries; " + ("identical" if same else f"first difference at index {first}: {vocabulary[first] if first is not None else '-'!r} vs {theirs[first] if first is not None else '-'!r}"),
        same,
    )
    encoded = vectorizer(tf.constant(data["all"])).numpy()
    mismatches = []
    for i, ids in enumerate(data["encoded"]):
        keras_ids = [int(t) for t in encoded[i] if t != 0]
        if keras_ids != ids:
            mismatches.append(i)
    row(
        "TextVectorization",
        f"every overview ({len(data['all'])}) encodes to the same ids",
        "0 mismatches",
        f"{len(mismatches)} mismatches" + (f" (first: overview {mismatches[0]})" if mismatches else ""),
        len(mismatches) == 0,
    )


# ---------------------------------------------------------------------------------------------------------------
# Poster preprocessing

DECODER_EXPLANATION = (
    "JPEG decoders are not bit-exact: the standard leaves the inverse DCT's precision and the chroma upsampling to "
    "the decoder. TensorFlow decodes with libjpeg-turbo (accurate integer IDCT, 'fancy' triangular chroma "
    "upsampling); jimp's jpeg-js upsamples chroma by repetition, so the two differ most on sharp colour edges. "
    "The resize is exact (next row), so after it the difference is the decoder's, averaged over 4.7 x 4.7 source "
    "pixels per output pixel. A libvips/mozjpeg decoder (sharp 0.35) was tried as well: it too differs from "
    "TensorFlow (mean 1.65 levels, max 22, on 300 posters), so no decoder available to a Node.js project without "
    "TensorFlow reproduces libjpeg-turbo's output exactly; on native TensorFlow the workbook decodes with TensorFlow's "
    "own decoder instead"
)

# The workbook's JPEG decoder as the parity spec names it, in the rows' words.
DECODER_NAMES = {"jimp": "jimp", "tensorflow": "TensorFlow's DecodeJpeg (native TensorFlow)"}


def template_poster(file, size):
    """The template's pipeline: decode the JPEG, scale to [0, 1], tf.image.resize bilinear to size x size."""
    image = tf.io.decode_jpeg(tf.io.read_file(file), channels=3)
    image = tf.image.convert_image_dtype(image, tf.float32)
    return tf.image.resize(image, (size, size), method="bilinear").numpy()


def check_posters(spec):
    size = spec["size"]
    files = spec["files"]
    ours = np.memmap(path(spec["workbook"]), dtype=np.float32, mode="r", shape=(len(files), size, size, 3))
    max_diff, sum_diff, count = 0.0, 0.0, 0
    started = time.time()
    for i, file in enumerate(files):
        d = np.abs(template_poster(file, size) - ours[i])
        max_diff = max(max_diff, float(d.max()))
        sum_diff += float(d.sum())
        count += d.size
    decoder = DECODER_NAMES[spec.get("decoder", "jimp")]
    row(
        "posters",
        f"the template's pipeline (tf.io.decode_jpeg, [0, 1], tf.image.resize bilinear {size}x{size}) against preparePoster decoding with {decoder}, every poster ({len(files)})",
        "max 1/255 (JPEG decoders may differ by one level)",
        f"max {fmt(max_diff)}, mean {fmt(sum_diff / count)} ({time.time() - started:.0f} s)",
        max_diff <= 1 / 255 + 1e-6,
        explained=DECODER_EXPLANATION,
    )
    sample = spec["sample"]
    decoded = np.fromfile(path(sample["decoded"]), dtype=np.uint8)
    offset, dec_max, dec_sum, dec_n, res_max, res_sum, res_n = 0, 0.0, 0.0, 0, 0.0, 0.0, 0
    for index, (h, w) in zip(sample["indices"], sample["shapes"]):
        ours_decoded = decoded[offset : offset + h * w * 3].reshape(h, w, 3)
        offset += h * w * 3
        theirs_decoded = tf.io.decode_jpeg(tf.io.read_file(files[index]), channels=3).numpy()
        d = np.abs(theirs_decoded.astype(np.int32) - ours_decoded.astype(np.int32)) / 255.0
        dec_max, dec_sum, dec_n = max(dec_max, float(d.max())), dec_sum + float(d.sum()), dec_n + d.size
        # The resize alone: TensorFlow's resize of the workbook's own decoded pixels against the workbook's resize.
        resized = tf.image.resize(tf.image.convert_image_dtype(ours_decoded, tf.float32), (size, size), method="bilinear").numpy()
        r = np.abs(resized - ours[index])
        res_max, res_sum, res_n = max(res_max, float(r.max())), res_sum + float(r.sum()), res_n + r.size
    row(
        "posters",
        f"the JPEG decoder's share: {decoder} against tf.io.decode_jpeg, pixels in [0, 1] ({len(sample['indices'])} posters, a seeded sample)",
        "max 1/255",
        f"max {fmt(dec_max)}, mean {fmt(dec_sum / dec_n)}",
        dec_max <= 1 / 255 + 1e-6,
        explained=DECODER_EXPLANATION,
    )
    row(
        "posters",
        "the resize's share: tf.image.resize of the workbook's decoded pixels against the workbook's resize (same sample)",
        "1e-6",
        f"max {fmt(res_max)}, mean {fmt(res_sum / res_n)}",
        res_max <= 1e-6,
    )


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def check_metrics(spec):
    n, g = spec["films"], spec["genres"]
    y_true = read(spec["yTrue"], np.float32, (n, g))
    y_prob = read(spec["yProb"], np.float32, (n, g))
    ours = spec["workbook"]
    name = spec["name"]

    def compare(check, keras_value, ours_value, tolerance=1e-6, note=""):
        d = abs(float(keras_value) - float(ours_value))
        row("metrics", f"{name}: {check}", fmt(tolerance), f"Keras {float(keras_value):.7f}, workbook {float(ours_value):.7f}, |diff| {fmt(d)}", d <= tolerance, note)

    bce = keras.losses.BinaryCrossentropy()(y_true, y_prob)
    compare("BinaryCrossentropy (probabilities)", bce, ours["bce"])
    p = keras.metrics.Precision(thresholds=0.5)
    p.update_state(y_true, y_prob)
    compare("Precision (threshold 0.5, micro)", p.result(), ours["precision"])
    r = keras.metrics.Recall(thresholds=0.5)
    r.update_state(y_true, y_prob)
    compare("Recall (threshold 0.5, micro)", r.result(), ours["recall"])
    micro = keras.metrics.F1Score(average="micro", threshold=0.5)
    micro.update_state(y_true, y_prob)
    compare("F1Score(average='micro', threshold=0.5)", micro.result(), ours["microF1"])
    macro = keras.metrics.F1Score(average="macro", threshold=0.5)
    macro.update_state(y_true, y_prob)
    compare(
        "F1Score(average='macro', threshold=0.5): Keras's mean over all genres",
        macro.result(),
        ours["macroF1AllGenres"],
        note="the workbook's per-genre F1s averaged over every genre, as Keras does (a genre without a positive film counts 0)",
    )
    without = ours["genresWithoutPositives"]
    row(
        "metrics",
        f"{name}: the workbook's macro F1 averages over the genres that have a positive film",
        "a definition",
        f"workbook {ours['macroF1']:.7f} over {g - len(without)} genres; Keras {float(macro.result()):.7f} over {g}",
        True,
        f"genres without a positive validation film ({', '.join(without) or 'none'}) have no F1 to speak of; Keras counts each as 0, which gives "
        f"the workbook's figure x {g - len(without)}/{g}",
    )


# ---------------------------------------------------------------------------------------------------------------
# Models: one step from the same weights


def set_weights(model, spec):
    flat = np.fromfile(path(spec["weights"]), dtype=np.float32)
    offset = 0
    by_layer = {}
    for w in spec["weightList"]:
        size = int(np.prod(w["shape"])) if w["shape"] else 1
        by_layer.setdefault(w["layer"], []).append(flat[offset : offset + size].reshape(w["shape"]))
        offset += size
    for layer in model.layers:
        if not layer.weights:
            continue
        values = by_layer.pop(layer.name, None)
        if values is None:
            raise SystemExit(f"no weights exported for Keras layer {layer.name}")
        layer.set_weights(values)
    if by_layer:
        raise SystemExit(f"exported weights for layers Keras does not have: {', '.join(by_layer)}")


def check_model(spec):
    kind = spec["kind"]
    model = build_cnn() if kind == "cnn" else build_lstm(spec["vocabularySize"])
    ours_counts = {c["layer"]: c["params"] for c in spec["paramCounts"]}
    keras_counts = {l.name: l.count_params() for l in model.layers if l.count_params() > 0}
    differ = [n for n in set(ours_counts) | set(keras_counts) if ours_counts.get(n) != keras_counts.get(n)]
    row(
        "models",
        f"{kind}: parameters per layer ({model.count_params():,} in all)",
        "identical",
        "identical" if not differ else "differ: " + ", ".join(f"{n} {keras_counts.get(n)} vs {ours_counts.get(n)}" for n in differ),
        not differ,
    )
    set_weights(model, spec)
    x = read(spec["x"], np.int32 if kind == "lstm" else np.float32, spec["xShape"])
    y = read(spec["y"], np.float32, spec["yShape"])
    outputs = model(x, training=False).numpy()
    ours_out = read(spec["outputs"], np.float32, spec["yShape"])
    d = float(np.abs(outputs - ours_out).max())
    row("models", f"{kind}: forward outputs on the same batch ({x.shape[0]} films), dropout off", "1e-5", f"max |diff| {fmt(d)}", d <= 1e-5)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(y, model(x, training=False))
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, variables)
    d = abs(float(loss) - spec["loss"])
    row("models", f"{kind}: the loss of that batch (binary cross-entropy)", "1e-4", f"Keras {float(loss):.6f}, workbook {spec['loss']:.6f}, |diff| {fmt(d)}", d <= 1e-4)
    ours_grads = np.fromfile(path(spec["grads"]), dtype=np.float32)
    # An Embedding's gradient comes as IndexedSlices (the rows of the batch's words): made dense to compare.
    keras_grads = np.concatenate([tf.convert_to_tensor(g).numpy().ravel() for g in grads])
    scale = float(np.abs(keras_grads).max())
    d = float(np.abs(keras_grads - ours_grads).max())
    row("models", f"{kind}: the gradients of every weight", "1e-4 of the largest gradient", f"max |diff| {fmt(d)} (largest gradient {fmt(scale)}; relative {fmt(d / scale)})", d <= 1e-4 * scale)
    initial = [v.numpy().copy() for v in variables]
    ours_after = np.fromfile(path(spec["weightsAfter"]), dtype=np.float32)

    def adam_step(gradients):
        for v, w in zip(variables, initial):
            v.assign(w)
        keras.optimizers.Adam(1e-4).apply_gradients(zip(gradients, variables))
        return float(np.abs(np.concatenate([v.numpy().ravel() for v in variables]) - ours_after).max())

    sparse = any(isinstance(g, tf.IndexedSlices) for g in grads)
    d = adam_step(grads)
    row(
        "models",
        f"{kind}: the weights after one Adam step (lr 1e-4)" + (", the gradients as Keras makes them (the Embedding's as IndexedSlices)" if sparse else ""),
        "1e-5",
        f"max |diff| {fmt(d)}",
        d <= 1e-5,
        explained=(
            "Keras 3's Adam on TensorFlow updates an Embedding from its IndexedSlices gradient without summing the "
            "slices of a word that occurs several times in the batch: v adds the squares of the slices, not the "
            "square of their sum, so a word seen k times moves up to sqrt(k) times further (measured: the row of "
            "[UNK], the out-of-vocabulary id, 49 times in this batch, moved 6 x lr). Keras 2 (tf.keras, which the coursework ran) summed the "
            "slices first (_deduplicate_indexed_slices), as PyTorch's Adam and the workbook do: Adam on the gradient "
            "itself. The next row applies Keras's Adam to the same gradients made dense"
        )
        if sparse
        else None,
    )
    if sparse:
        d = adam_step([tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads])
        row("models", f"{kind}: the weights after one Adam step (lr 1e-4), the Embedding's gradient made dense", "1e-5", f"max |diff| {fmt(d)}", d <= 1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Training: the template in Keras, the workbook's histories beside it


_POSTERS = {}


def template_posters(files):
    """Every film's poster through the template's pipeline, once per process."""
    if files not in _POSTERS:
        _POSTERS[files] = np.stack([template_poster(f, 64) for f in files])
    return _POSTERS[files]


def train_keras(spec, seed):
    """The template trained in Keras on the given split (the workbook's split Ids): Adam, BCE, the coursework's
    schedule, batch 64, shuffled each epoch, the best val_loss epoch kept. Returns its history per epoch."""
    keras.utils.set_random_seed(seed)
    kind = spec["kind"]
    lr0 = spec["learningRate"]
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr0 * math.exp(-0.01 * max(0, epoch + 1 - 10)))
    labels = read(spec["labels"], np.float32, (spec["films"], spec["genres"]))
    train, validation = spec["train"], spec["validation"]
    if kind == "cnn":
        posters = template_posters(tuple(spec["files"]))
        model = build_cnn()
        train_ds = tf.data.Dataset.from_tensor_slices((posters[train], labels[train])).shuffle(len(train), seed=seed, reshuffle_each_iteration=True).batch(64)
        val_ds = tf.data.Dataset.from_tensor_slices((posters[validation], labels[validation])).batch(64)
    else:
        with open(path(spec["overviews"]), encoding="utf-8") as f:
            overviews = json.load(f)
        vectorizer = layers.TextVectorization(max_tokens=10000)
        vectorizer.adapt(tf.constant([overviews[i] for i in train]))
        ids = [[int(t) for t in row if t != 0] or [1] for row in vectorizer(tf.constant(overviews)).numpy()]

        def dataset(rows, shuffle):
            gen = lambda: ((np.array(ids[i], dtype=np.int32), labels[i]) for i in rows)
            ds = tf.data.Dataset.from_generator(gen, output_signature=(tf.TensorSpec((None,), tf.int32), tf.TensorSpec((spec["genres"],), tf.float32)))
            if shuffle:
                ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
            return ds.padded_batch(64, padded_shapes=((None,), (spec["genres"],)))

        model = build_lstm()
        train_ds, val_ds = dataset(train, True), dataset(validation, False)
    model.compile(
        optimizer=keras.optimizers.Adam(lr0),
        loss="binary_crossentropy",
        metrics=[keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")],
    )
    started = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=spec["epochs"], callbacks=[schedule], verbose=0)
    h = history.history
    return {
        "seed": seed,
        "seconds": time.time() - started,
        "epochs": [
            {k: float(h[k][e]) for k in ("loss", "precision", "recall", "val_loss", "val_precision", "val_recall")} | {"epoch": e + 1}
            for e in range(len(h["loss"]))
        ],
    }


def check_training(spec):
    runs = [train_keras(spec, seed) for seed in spec["seeds"]]
    with open(path(f"keras-training-{spec['kind']}.json"), "w", encoding="utf-8") as f:
        json.dump(runs, f)
    keras_best = [min(e["val_loss"] for e in r["epochs"]) for r in runs]
    ours_best = spec["workbookBest"]

    def mean_se(xs):
        m = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
        return m, sd / math.sqrt(len(xs))

    km, kse = mean_se(keras_best)
    om, ose = mean_se(ours_best)
    se = math.sqrt(kse**2 + ose**2)
    d = abs(km - om)
    row(
        "training",
        f"{spec['kind']}: best val_loss over {len(runs)} seeds, {spec['epochs']} epochs at lr {spec['learningRate']:g} (the coursework's settings otherwise)",
        "means within 2 standard errors",
        f"Keras {km:.4f} ± {kse:.4f}, workbook {om:.4f} ± {ose:.4f}: |diff| {d:.4f} = {d / se if se > 0 else float('inf'):.2f} SE",
        d <= 2 * se,
        f"Keras {', '.join(f'{x:.4f}' for x in keras_best)}; workbook {', '.join(f'{x:.4f}' for x in ours_best)}; "
        f"Keras {sum(r['seconds'] for r in runs) / len(runs):.0f} s per run",
    )


def main():
    with open(path("manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    environment = {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__, "threads": THREADS}
    print(f"parity: Keras {keras.__version__}, TensorFlow {tf.__version__} (CPU), {THREADS} threads", flush=True)
    if "text" in manifest:
        check_text(manifest["text"])
    if "posters" in manifest:
        check_posters(manifest["posters"])
    for spec in manifest.get("metrics", []):
        check_metrics(spec)
    for spec in manifest.get("models", []):
        check_model(spec)
    for spec in manifest.get("training", []):
        check_training(spec)
    with open(path("results.json"), "w", encoding="utf-8") as f:
        json.dump({"environment": environment, "rows": ROWS}, f, indent=1)


if __name__ == "__main__":
    main()
