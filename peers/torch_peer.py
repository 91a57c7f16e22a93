"""Peer figures: the coursework CNN and BiLSTM in PyTorch on the CPU, trained and run on the very batches
`npm run bench -- --peers` used (its batch plan), with `threads` intra-op threads and one inter-op thread.
The BiLSTM reads each batch packed to the overviews' lengths (PyTorch's way of skipping the padding that Keras
and the workbook mask). PyTorch's LSTM has no recurrent dropout: the template's recurrent_dropout 0.2 is left out,
its dropout 0.5 on each LSTM's inputs is kept. Prints one JSON line per model in the bench's format, with the
thread pools threadpoolctl finds. An "epoch" plan (`npm run bench -- --epoch --peers`) times one whole epoch
instead: the posters decoded and resized with Pillow (or the workbook's token ids, padded per batch), then a plain
training loop (Adam, precision and recall counted per batch), a validation pass and the best weights saved.
Usage: torch_peer.py PLAN.json [THREADS]"""
import os
import sys
import time

THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
# Before torch loads: no second BLAS or OpenMP pool beside torch's own (the crippled-peer mistake).
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.utils.rnn as rnn  # noqa: E402

torch.set_num_threads(THREADS)
torch.set_num_interop_threads(1)
torch.manual_seed(1)

from common import ScratchFolder, epoch_batches, epoch_line, load_plan, lstm_batches, padded, result_line, thread_report, timed  # noqa: E402


def build_cnn(genres=25):
    """The template's CNN (Conv0 stride 2 .. Conv6, FC1, FC2, Output) in PyTorch's channels-first layout."""
    def conv(i, o, stride=1):
        return [nn.Conv2d(i, o, 3, stride=stride, padding=1), nn.ReLU()]

    return nn.Sequential(
        *conv(3, 16, 2), nn.Dropout(0.2), *conv(16, 32), *conv(32, 32), nn.Dropout(0.2), nn.MaxPool2d(2),
        *conv(32, 64), *conv(64, 64), nn.Dropout(0.2), nn.MaxPool2d(2),
        *conv(64, 128), *conv(128, 128), nn.Dropout(0.2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(1024, genres),
    )


class BiLstm(nn.Module):
    """Embedding(256) -> dropout 0.5 -> BiLSTM 256 (sequences) -> dropout 0.5 -> BiLSTM 128 -> Dense 128 relu ->
    dropout 0.8 -> Dense(genres); the logits go to BCEWithLogitsLoss (the sigmoid inside the loss)."""

    def __init__(self, vocabulary_size=10000, genres=25):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, 256, padding_idx=0)
        self.drop1 = nn.Dropout(0.5)
        self.lstm1 = nn.LSTM(256, 256, bidirectional=True, batch_first=True)
        self.drop2 = nn.Dropout(0.5)
        self.lstm2 = nn.LSTM(512, 128, bidirectional=True, batch_first=True)
        self.head = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.8), nn.Linear(128, genres))

    def forward(self, x, lengths):
        packed = rnn.pack_padded_sequence(self.drop1(self.embedding(x)), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm1(packed)
        out = rnn.PackedSequence(self.drop2(out.data), out.batch_sizes, out.sorted_indices, out.unsorted_indices)
        _, (h, _) = self.lstm2(out)
        return self.head(torch.cat([h[0], h[1]], 1))


def framework():
    return f"pytorch {torch.__version__} (CPU)"


def threads_used():
    return {"intraOp": torch.get_num_threads(), "interOp": torch.get_num_interop_threads(), "pools": thread_report()}


def trainer(model):
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    loss = nn.BCEWithLogitsLoss()

    def step(args, y):
        optimizer.zero_grad()
        value = loss(model(*args), y)
        value.backward()
        optimizer.step()

    return step


def bench_cnn(plan):
    n, size = plan["batchSize"], plan["cnn"]["imageSize"]
    model = build_cnn()
    xs = [torch.rand(n, 3, size, size) for _ in range(4)]
    ys = [(torch.rand(n, 25) < 0.1).float() for _ in range(4)]
    train_step = trainer(model)
    model.train()
    step = lambda i: train_step((xs[i % 4],), ys[i % 4])
    timed(step, 0, plan["warmup"])
    train = timed(step, plan["warmup"], plan["steps"])
    model.eval()
    with torch.no_grad():
        predict_step = lambda i: model(xs[i % 4])
        timed(predict_step, 0, plan["predictWarmup"])
        predict = timed(predict_step, 0, plan["predictSteps"])
    params = sum(p.numel() for p in model.parameters())
    return result_line("cnn", framework(), threads_used(), plan, train, predict, {"params": params})


def bench_lstm(plan):
    batches = lstm_batches(plan)
    data = [
        (torch.tensor(padded(ids), dtype=torch.long), torch.tensor([max(1, len(x)) for x in ids]), torch.tensor(labels, dtype=torch.float32))
        for ids, labels in batches
    ]
    model = BiLstm(plan["lstm"]["vocabularySize"])
    train_step = trainer(model)
    lengths = []

    def step(i):
        x, lens, y = data[i]
        if i >= plan["warmup"]:
            lengths.append(x.shape[1])
        train_step((x, lens), y)

    model.train()
    timed(step, 0, plan["warmup"])
    train = timed(step, plan["warmup"], plan["steps"])
    first = plan["warmup"] + plan["steps"]
    model.eval()
    with torch.no_grad():
        predict_step = lambda i: model(data[i][0], data[i][1])
        timed(predict_step, first, plan["predictWarmup"])
        predict = timed(predict_step, first + plan["predictWarmup"], plan["predictSteps"])
    extra = {
        "params": sum(p.numel() for p in model.parameters()),
        "texts": "real",
        "batching": plan["lstm"]["batching"],
        "meanSequenceLength": round(sum(lengths) / len(lengths), 1),
        "packed": True,
        "recurrentDropout": "none (PyTorch's LSTM has none; the template's 0.2 is left out)",
    }
    return result_line("lstm", framework(), threads_used(), plan, train, predict, extra)


def train_one_epoch(model, plan, train, validation):
    """One epoch as a PyTorch user writes it: the training pass (loss, precision and recall counts at 0.5), the
    validation pass without gradients, the weights saved (the first epoch is always the best). (loss, val_loss, s)."""
    optimizer = torch.optim.Adam(model.parameters(), plan["learningRate"])
    loss_fn = nn.BCEWithLogitsLoss()
    counts = torch.zeros(3)  # true positives, predicted positives, actual positives

    def run(batches, training):
        total, films = 0.0, 0
        for args, y in batches:
            logits = model(*args)
            loss = loss_fn(logits, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            predicted = (logits > 0).float()
            counts.add_(torch.stack([(predicted * y).sum(), predicted.sum(), y.sum()]).detach())
            total += loss.item() * len(y)
            films += len(y)
        return total / films

    with ScratchFolder() as folder:
        started = time.perf_counter()
        model.train()
        loss = run(train, True)
        model.eval()
        with torch.no_grad():
            val_loss = run(validation, False)
        torch.save(model.state_dict(), os.path.join(folder, "best.pt"))
        seconds = time.perf_counter() - started
    return loss, val_loss, seconds


def cnn_epoch(plan):
    from PIL import Image

    spec = plan["cnn"]
    size, n, files, n_batch = spec["imageSize"], spec["trainFilms"], spec["files"], plan["batchSize"]
    started = time.perf_counter()

    def poster(file):
        with Image.open(file) as image:
            return torch.from_numpy(np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR)).copy())

    posters = torch.stack([poster(f) for f in files]).permute(0, 3, 1, 2).float().div_(255).contiguous()
    labels = torch.tensor(spec["labels"], dtype=torch.float32)
    torch.manual_seed(plan["seed"])
    order = torch.randperm(n)
    train = [((posters[order[i : i + n_batch]],), labels[order[i : i + n_batch]]) for i in range(0, n, n_batch)]
    validation = [((posters[i : i + n_batch],), labels[i : i + n_batch]) for i in range(n, len(files), n_batch)]
    model = build_cnn(plan["genres"])
    prepare = time.perf_counter() - started
    loss, val_loss, seconds = train_one_epoch(model, plan, train, validation)
    return epoch_line("cnn", framework(), threads_used(), plan, n, len(files) - n, prepare, seconds, loss, val_loss, {"posters": "Pillow decode + bilinear resize, every film"})


def lstm_epoch(plan):
    started = time.perf_counter()
    train, validation = epoch_batches(plan)

    def tensors(batches):
        return [
            ((torch.tensor(ids, dtype=torch.long), torch.tensor(lengths)), torch.tensor(labels, dtype=torch.float32))
            for ids, labels, lengths in batches
        ]

    torch.manual_seed(plan["seed"])
    model = BiLstm(plan["lstm"]["vocabularySize"], plan["genres"])
    train_t, validation_t = tensors(train), tensors(validation)
    prepare = time.perf_counter() - started
    loss, val_loss, seconds = train_one_epoch(model, plan, train_t, validation_t)
    films = lambda batches: sum(len(b[1]) for b in batches)
    extra = {"packed": True, "recurrentDropout": "none (PyTorch's LSTM has none; the template's 0.2 is left out)"}
    return epoch_line("lstm", framework(), threads_used(), plan, films(train), films(validation), prepare, seconds, loss, val_loss, extra)


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
