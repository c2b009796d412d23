"""ONNX Runtime sessions for the reader's models: CPU only, a set number of threads, errors converted."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from gate.plates.errors import OcrUnavailable


@cache
def ort_errors() -> tuple[type[Exception], ...]:
    """ONNX Runtime's exceptions (they derive from Exception alone), to convert at this boundary."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state  # type: ignore[import-untyped]

    return (
        RuntimeError,
        ValueError,
        state.Fail,
        state.InvalidArgument,
        state.InvalidGraph,
        state.InvalidProtobuf,
        state.NoSuchFile,
        state.RuntimeException,
    )


def open_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime session of the model at ``path`` on the CPU with ``threads`` intra-op threads."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
    except ImportError as err:
        raise OcrUnavailable("plate reading needs ONNX Runtime: pip install 'qaqpa[plates]'") from err
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except ort_errors() as err:
        raise OcrUnavailable(f"the model {path} does not load: {err}") from err
