"""Training the gate's plate recogniser on rendered plates, and exporting it to ONNX for the gate.

EasyOCR's English recogniser is a scene-text model: it reads plate glyphs it has never seen with high
confidence and wrongly (W as I, a region's 08 as 02). This trains a small CRNN (a convolutional stack,
a bidirectional LSTM, CTC) on the crops the gate's own localiser cuts from rendered cars
(``sim.plates.crops``), with augmentations on top, and exports it with ONNX Runtime's reader in mind:
input ``image`` (N×1×32×W, gray scaled to -1…1), output per-column logits (blank, then the characters),
and the metadata the gate checks (``characters``, ``height``, how it was trained).

    python -m sim.plates.crops /tmp/a.npz --n 16000 --seed 1200    # two processes: one per core
    python -m sim.plates.crops /tmp/b.npz --n 16000 --seed 1201
    python -m sim.plates.crops /tmp/val.npz --n 700 --seed 2100
    python -m sim.plates.train /tmp/a.npz /tmp/b.npz --val /tmp/val.npz --epochs 8 --out OUT.onnx

made the first plate-trained model (stop 10: 29,445 crops, 8 epochs, about 70 minutes on two CPU cores).
The shipped one trained on from it (stop 13) on crops weighted to the conditions it misread most, reaching
3.5 character heights past its rows (``localise.ROW_REACH``):

    python -m sim.plates.crops /tmp/all.npz --n 26000 --seed 1300
    python -m sim.plates.crops /tmp/hard.npz --n 26000 --seed 1301 \
        --conditions blur blur blur dirt dirt glare glare tilt lowres
    python -m sim.plates.train /tmp/all.npz /tmp/hard.npz --val /tmp/val.npz --epochs 3 \
        --init gate/plates/models/plates-latin.onnx --max-lr 5e-4 --out OUT.onnx

50,845 crops, 3 epochs of about 11 minutes (held-out crops read exactly: 97.8 %).
``--init MODEL.onnx`` trains on from an exported model instead of from scratch (with a lower ``--max-lr``).
Judge a new model by whole frames read at the lane (``python -m bench lpr`` on another seed), not by the
held-out crops alone: models that read more crops have also been surer of their wrong reads.
Torch is needed here only; the gate runs the exported file with ONNX Runtime.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gate.plates.decode import ALPHABET, best_path
from gate.plates.export import write_onnx
from gate.plates.localise import ROW_SPAN
from gate.plates.ocr import pad_right
from sim.plates.crops import HEIGHT, MAX_WIDTH

Array = np.ndarray[Any, Any]
CHAR_PX = round(HEIGHT / ROW_SPAN)  # a character's height on a crop


def build_model(batch_norm: bool = True) -> Any:
    """The CRNN: 32 px high in, one column of logits per 4 px of width out (blank + ``ALPHABET``). Without
    ``batch_norm`` its convolutions carry biases instead: the shape of an exported model, whose batch norm
    ONNX folded into them (``load_onnx``)."""
    from torch import nn  # type: ignore[import-not-found,unused-ignore]  # the plate-models extra

    def block(cin: int, cout: int, kernel: Any = 3, padding: Any = 1) -> list[Any]:
        conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=not batch_norm)
        return [conv, *([nn.BatchNorm2d(cout)] if batch_norm else []), nn.ReLU(inplace=True)]

    class PlateNet(nn.Module):  # type: ignore[misc,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.cnn = nn.Sequential(
                *block(1, 32),
                nn.MaxPool2d(2),  # 16 × W/2
                *block(32, 64),
                nn.MaxPool2d(2),  # 8 × W/4
                *block(64, 128),
                nn.MaxPool2d((2, 1)),  # 4 × W/4
                *block(128, 192),
                nn.MaxPool2d((2, 1)),  # 2 × W/4
                *block(192, 256, (2, 1), 0),  # 1 × W/4
            )
            self.rnn = nn.LSTM(256, 128, bidirectional=True, batch_first=True)
            self.head = nn.Linear(256, 1 + len(ALPHABET))

        def forward(self, image: Any) -> Any:
            columns = self.cnn(image).squeeze(2).permute(0, 2, 1)  # N × T × 256
            sequence, _ = self.rnn(columns)
            return self.head(sequence)

    return PlateNet()


def load_onnx(path: Path) -> Any:
    """A model exported by ``train`` back in torch, to train on from where it stands: ONNX folded its batch
    norm into the convolutions, and orders the LSTM's gates input, output, forget, cell (torch: input,
    forget, cell, output)."""
    import onnx  # type: ignore[import-not-found,unused-ignore]
    import torch  # type: ignore[import-not-found,unused-ignore]
    from onnx import numpy_helper
    from torch import nn  # type: ignore[import-not-found,unused-ignore]  # the plate-models extra

    graph = onnx.load(str(path)).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    model = build_model(batch_norm=False)

    def set_(param: Any, value: Array) -> None:
        if tuple(param.shape) != value.shape:
            raise ValueError(f"{path} is not this recogniser: {value.shape} where {tuple(param.shape)} goes")
        param.data = torch.from_numpy(np.array(value, dtype=np.float32))  # a copy torch may write to

    convs = [node for node in graph.node if node.op_type == "Conv"]
    for node, conv in zip(convs, [m for m in model.cnn if isinstance(m, nn.Conv2d)], strict=True):
        set_(conv.weight, weights[node.input[1]])
        set_(conv.bias, weights[node.input[2]])

    def torch_gates(value: Array) -> Array:
        i, o, f, c = np.split(value, 4)
        return np.concatenate([i, f, c, o])

    lstm = next(node for node in graph.node if node.op_type == "LSTM")
    w, r, b = (weights[name] for name in lstm.input[1:4])
    for d, suffix in enumerate(("", "_reverse")):
        input_bias, hidden_bias = np.split(b[d], 2)
        set_(getattr(model.rnn, f"weight_ih_l0{suffix}"), torch_gates(w[d]))
        set_(getattr(model.rnn, f"weight_hh_l0{suffix}"), torch_gates(r[d]))
        set_(getattr(model.rnn, f"bias_ih_l0{suffix}"), torch_gates(input_bias))
        set_(getattr(model.rnn, f"bias_hh_l0{suffix}"), torch_gates(hidden_bias))
    matmul = next(node for node in graph.node if node.op_type == "MatMul")
    add = next(node for node in graph.node if node.op_type == "Add" and matmul.output[0] in node.input)
    set_(model.head.weight, weights[matmul.input[1]].T)
    set_(model.head.bias, weights[next(name for name in add.input if name in weights)])
    return model


def load_crops(path: Path) -> tuple[Array, Array, list[str]]:
    data = np.load(path)
    return data["images"], data["widths"], [str(label) for label in data["labels"]]


def augment(image: Array, width: int, rng: np.random.Generator) -> tuple[Array, int]:
    """One training view of a stored crop: up to a character's height cut off either end or a little margin
    added, stretched or squeezed, contrast, brightness, blur and noise changed; back on the padded canvas,
    with its new width. How far a crop reaches past the plate's characters varies with what its row caught
    (a whole row, or a Russian plate's digits alone): the model must not lean on it."""
    crop: Array = image[:, :width].astype(np.float32)
    left, right = (int(v) for v in rng.integers(-3, 4 + CHAR_PX, size=2))
    if left > 0:
        crop = crop[:, left:]
    elif left < 0:
        crop = np.hstack([np.repeat(crop[:, :1], -left, axis=1), crop])
    if right > 0 and crop.shape[1] - right > HEIGHT // 2:
        crop = crop[:, : crop.shape[1] - right]
    elif right < 0:
        crop = np.hstack([crop, np.repeat(crop[:, -1:], -right, axis=1)])
    new_width = int(np.clip(round(crop.shape[1] * rng.uniform(0.85, 1.15)), HEIGHT // 2, MAX_WIDTH))
    crop = cv2.resize(crop, (new_width, HEIGHT), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.4, 1.2))
    crop = (crop - crop.mean()) * rng.uniform(0.6, 1.3) + crop.mean() + rng.uniform(-30, 30)
    crop += rng.normal(0.0, rng.uniform(0.0, 8.0), crop.shape)
    return np.clip(pad_right(crop, MAX_WIDTH), 0, 255), new_width


def encode(labels: list[str]) -> tuple[Any, Any]:
    import torch  # type: ignore[import-not-found,unused-ignore]

    targets = torch.tensor([ALPHABET.index(c) + 1 for label in labels for c in label], dtype=torch.long)
    lengths = torch.tensor([len(label) for label in labels], dtype=torch.long)
    return targets, lengths


def batch_tensor(images: Array, width: int) -> Any:
    """A batch cut to its widest crop (the rest is padding) and scaled to -1…1, as ``gate.plates.ocr`` does."""
    import torch  # type: ignore[import-not-found,unused-ignore]

    steps = math.ceil(width / 4) * 4
    return torch.from_numpy(np.ascontiguousarray(images[:, None, :, :steps], dtype=np.float32) / 127.5 - 1.0)


def evaluate(model: Any, images: Array, widths: Array, labels: list[str]) -> float:
    """Share of crops whose greedy read is exactly the label."""
    import torch  # type: ignore[import-not-found,unused-ignore]

    model.eval()
    right = 0
    with torch.no_grad():
        for start in range(0, len(labels), 128):
            part = slice(start, start + 128)
            logits = model(batch_tensor(images[part], int(widths[part].max())))
            probs = torch.softmax(logits, dim=2).numpy()
            for i, label in enumerate(labels[part]):
                steps = max(1, math.ceil(int(widths[part][i]) / 4))
                right += best_path(probs[i, :steps])[0] == label
    model.train()
    return right / max(1, len(labels))


def _batches(widths: Array, batch: int, rng: np.random.Generator) -> list[Array]:
    """One epoch's batches of crops of about the same width (a batch is cut to its widest crop, so mixing a
    two-row plate's 250 px with 100 px rows would make most of the work padding), in random order."""
    by_width = np.argsort(widths + rng.uniform(0, 8, len(widths)), kind="stable")
    chunks = [by_width[i : i + batch] for i in range(0, len(by_width) - batch + 1, batch)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def train(
    train_paths: list[Path],
    val_path: Path | None,
    out: Path,
    epochs: int,
    batch: int,
    seed: int,
    threads: int,
    init: Path | None = None,
    max_lr: float = 2e-3,
) -> None:
    """Train from scratch, or on from the exported model ``init``, and export to ``out`` after every epoch
    (a long run can be tried half-way)."""
    import torch  # type: ignore[import-not-found,unused-ignore]

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    parts = [load_crops(path) for path in train_paths]
    images = np.concatenate([part[0] for part in parts])
    widths = np.concatenate([part[1] for part in parts])
    labels = [label for part in parts for label in part[2]]
    val = load_crops(val_path) if val_path is not None else None
    model = build_model() if init is None else load_onnx(init)
    # how the starting model was trained travels on in each export's metadata (read once, not every epoch)
    started_from: dict[str, Any] = {} if init is None else {"max_lr": max_lr, "trained_on_from": _training_info(init)}
    optimiser = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-4)
    steps_per_epoch = len(labels) // batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=max_lr, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    began = time.monotonic()
    history = []
    for epoch in range(epochs):
        total = 0.0
        for chosen in _batches(widths, batch, rng):
            views = [augment(images[i], int(widths[i]), rng) for i in chosen]
            x = batch_tensor(np.stack([view for view, _ in views]), max(width for _, width in views))
            targets, lengths = encode([labels[i] for i in chosen])
            logits = model(x)  # N × T × C
            log_probs = logits.log_softmax(2).permute(1, 0, 2)  # T × N × C
            frames = torch.full((len(chosen),), log_probs.shape[0], dtype=torch.long)
            loss = ctc(log_probs, targets, frames, lengths)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        accuracy = evaluate(model, *val) if val is not None else float("nan")
        history.append({"epoch": epoch + 1, "loss": total / steps_per_epoch, "val_exact": accuracy})
        print(
            f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f}, val exact {accuracy:.4f}, "
            f"{time.monotonic() - began:.0f} s",
            flush=True,
        )
        info = {
            "crops": len(labels),
            "epochs": epoch + 1,
            "batch": batch,
            "seed": seed,
            **started_from,
            "history": history,
        }
        write_onnx(model, HEIGHT, out, {"characters": ALPHABET, "height": str(HEIGHT), "training": json.dumps(info)})
        model.train()


def _training_info(path: Path) -> Any:
    import onnx  # type: ignore[import-not-found,unused-ignore]

    metadata = {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(metadata.get("training", "null"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path, nargs="+", help="crops from python -m sim.plates.crops")
    parser.add_argument("--val", type=Path, help="held-out crops (another seed)")
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", type=Path, help="train on from this exported model (e.g. the shipped one)")
    parser.add_argument("--max-lr", type=float, default=2e-3, help="peak learning rate (lower with --init)")
    args = parser.parse_args(argv)
    train(args.train, args.val, args.out, args.epochs, args.batch, args.seed, args.threads, args.init, args.max_lr)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
