"""ONNX Runtime backend for the emotion networks: the same function as PyTorch, faster.

Why: on the 2-core CPU the app runs on, ONNX Runtime on one thread is 1.5-3x faster than PyTorch
(ms per face, batch 1: tf_efficientnet_b0 at 224 ~20 vs 40-85; the EMO-AffectNet ResNet50 ~100 vs
~155; EmoNet ~450 vs ~700; mini-Xception ~0.8 vs ~4.5), so inference needs one core and the other
stays free for video encoding.

What is guaranteed: a network is exported with the TorchScript exporter (opset 17, dynamic batch
axis) and, before the file is used, ONNX Runtime's outputs are checked against PyTorch's on a
random batch of 2 and on its first sample alone (which also proves the batch axis is dynamic): the
largest difference must stay below 1e-3 of the output scale, or the export is refused. Files are
written atomically, so a crash never leaves a half-written model in the cache.

Threads: one intra-op thread per session (:data:`DEFAULT_THREADS`). With the other core busy (the
video encoder), one thread was as fast as two for EfficientNet-B0 and left the encoder its whole
core; two threads took about a third of the encoder's core. Idle, two threads are 1.3-1.7x faster
for the large networks (ResNet50 ~57 ms, EmoNet ~265 ms). Pool threads never spin. Sessions are
thread-safe: concurrent requests may share one, each computing on its own calling thread.

Failures of export or ONNX Runtime (including a missing ``onnx``/``onnxruntime`` package) raise
``RuntimeError`` with a readable message; the caller falls back to PyTorch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"
DEFAULT_THREADS = 1
RELATIVE_TOLERANCE = 1e-3  # of the output scale (largest |output|, at least SCALE_FLOOR)
SCALE_FLOOR = 1e-2

_EXPORT_LOCK = threading.Lock()  # the TorchScript exporter keeps global state: one export at a time


def _onnxruntime() -> Any:
    """The ``onnxruntime`` module, or a RuntimeError saying it is missing."""
    try:
        import onnxruntime
    except ImportError as error:
        raise RuntimeError(f"onnxruntime is not installed ({error}); pip install onnxruntime") from error
    return onnxruntime


@contextlib.contextmanager
def _eval_mode(network: nn.Module) -> Iterator[nn.Module]:
    """Put ``network`` in eval mode for the block, then restore its previous mode."""
    was_training = network.training
    network.eval()
    try:
        yield network
    finally:
        network.train(was_training)


def _export_file(network: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace ``network`` on ``example`` into ``path`` (dynamic batch axis), quieting tracer noise."""
    with _EXPORT_LOCK, warnings.catch_warnings():
        # The legacy-exporter deprecation notice, and TracerWarnings from TF-SAME padding computed
        # from the (fixed) input size, are expected: the verification below is what counts.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _check_close(expected: np.ndarray, actual: np.ndarray, what: str) -> None:
    """Raise RuntimeError unless ``actual`` matches ``expected`` within the relative tolerance."""
    if expected.shape != actual.shape:
        raise RuntimeError(f"{what}: ONNX output shape {actual.shape} != PyTorch {expected.shape}")
    scale = max(float(np.abs(expected).max(initial=0.0)), SCALE_FLOOR)
    diff = float(np.abs(expected - actual).max(initial=0.0))
    if not diff <= RELATIVE_TOLERANCE * scale:  # also catches NaN
        raise RuntimeError(
            f"{what}: ONNX Runtime differs from PyTorch by {diff:.3g} (output scale {scale:.3g}, "
            f"tolerance {RELATIVE_TOLERANCE * scale:.3g})"
        )


def _verify(network: nn.Module, example: torch.Tensor, path: Path) -> float:
    """Compare ONNX Runtime with PyTorch on ``example`` and on its first sample; the max difference."""
    with torch.inference_mode():
        expected = network(example).float().numpy()
    runner = OnnxRunner(path)
    with torch.inference_mode():
        actual = runner(example).numpy()
        first = runner(example[:1]).numpy()
    _check_close(expected, actual, f"{path.name}, batch {len(example)}")
    _check_close(expected[:1], first, f"{path.name}, batch 1 (dynamic batch axis)")
    return float(np.abs(expected - actual).max())


def export_onnx(network: nn.Module, input_shape: tuple[int, int, int], path: Path) -> Path:
    """Export ``network`` ((N, C, S, S) -> one (N, K) tensor) to ``path`` and verify it.

    The network is run in eval mode (its mode is restored afterwards). The file is written under a
    temporary name in the same folder and renamed only once ONNX Runtime's outputs match PyTorch's.

    Raises:
        RuntimeError: the export failed or its outputs differ from PyTorch's.
        OSError: the folder cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    example = torch.randn((2, *input_shape), generator=generator)
    # Unique per process and thread; created by the exporter, so it gets the umask's permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with _eval_mode(network):
            try:
                _export_file(network, example, tmp)
            except Exception as error:
                raise RuntimeError(f"ONNX export of {type(network).__name__} failed: {error}") from error
            diff = _verify(network, example, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("exported %s to %s (max difference from PyTorch %.2g)", type(network).__name__, path, diff)
    return path


class OnnxRunner:
    """Runs an exported network with ONNX Runtime on the CPU: (N, C, S, S) float32 -> (N, K) float32.

    A drop-in ``runner`` for :class:`fer_demo.models.base.EmotionModel`. Thread-safe: ONNX Runtime
    allows concurrent ``run`` calls on one session, and each call with ``threads=1`` computes on the
    calling thread, so concurrent requests run in parallel without sharing a pool.
    """

    def __init__(self, path: Path, threads: int = DEFAULT_THREADS) -> None:
        """Load ``path``; RuntimeError if the file is missing, corrupt or not an (N, K) model."""
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads must not spin on the core the video encoder needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:
            raise RuntimeError(f"ONNX Runtime could not load {path}: {error}") from error
        self.path = path
        self.threads = threads
        inputs = self.session.get_inputs()[0]
        self.input_name: str = inputs.name
        self.input_shape: tuple[int | str, ...] = tuple(inputs.shape[1:])  # (C, S, S)
        output = self.session.get_outputs()[0]
        if len(output.shape) != 2 or not isinstance(output.shape[1], int):
            raise RuntimeError(f"{path.name} returns shape {output.shape}, expected (batch, outputs)")
        self.output_name: str = output.name
        self.num_outputs: int = output.shape[1]

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw outputs for a prepared batch; an empty batch gives (0, K) without running ONNX Runtime."""
        if len(batch) == 0:
            return torch.zeros((0, self.num_outputs), dtype=torch.float32)
        inputs = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        try:
            (outputs,) = self.session.run([self.output_name], {self.input_name: inputs})
        except Exception as error:
            shape = tuple(inputs.shape)
            raise RuntimeError(f"ONNX Runtime failed on {self.path.name}, input {shape}: {error}") from error
        return torch.from_numpy(outputs)

    def __repr__(self) -> str:
        return f"OnnxRunner({str(self.path)!r}, threads={self.threads})"


def onnx_runner_for(
    network: nn.Module,
    input_shape: tuple[int, int, int],
    cache_dir: Path,
    key: str,
    threads: int = DEFAULT_THREADS,
) -> OnnxRunner:
    """A runner for ``network``, exported once to ``cache_dir / f"{key}.onnx"`` and reused after.

    ``key`` must change whenever the architecture or the weights do (e.g. model name plus the
    weight file's size and mtime): a cached file is trusted as it is. A cached file that does not
    load, or takes another input shape, is exported again.

    Raises:
        ValueError: ``key`` is not a plain file name.
        RuntimeError: export, verification or ONNX Runtime failed (the message says which).
    """
    if not key or Path(key).name != key or key in {".", ".."}:
        raise ValueError(f"key must be a plain file name, got {key!r}")
    path = cache_dir / f"{key}.onnx"
    if path.is_file():
        try:
            runner = OnnxRunner(path, threads)
        except RuntimeError as error:
            log.warning("cached %s does not load, exporting again: %s", path.name, error)
        else:
            if runner.input_shape == tuple(input_shape):
                return runner
            stale = runner.input_shape
            log.warning("cached %s takes %s, not %s: exporting again", path.name, stale, input_shape)
    try:
        export_onnx(network, input_shape, path)
    except RuntimeError:
        raise
    except Exception as error:  # an unwritable folder, a forward that fails in PyTorch itself...
        raise RuntimeError(f"could not export {type(network).__name__} to {path}: {error}") from error
    return OnnxRunner(path, threads)
