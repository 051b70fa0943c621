"""Per-face smoothing and LSTM windows: same behaviour over the same time whatever the frame rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fer_demo.analysis.temporal import ExponentialSmoother, FeatureWindow, LstmTemporalModel

HAPPY = np.array([0.05, 0.8, 0.05, 0.05, 0.05])
SAD = np.array([0.1, 0.05, 0.75, 0.05, 0.05])


def smooth_step(fps: int, seconds: float, time_constant: float = 0.5) -> tuple[np.ndarray, float | None]:
    """Feed HAPPY at t = 0, then SAD, at ``fps``; the output at ``seconds``."""
    smoother = ExponentialSmoother(time_constant)
    for frame in range(round(seconds * fps) + 1):
        t = frame / fps
        p, v, _ = smoother.update(1, t, HAPPY if frame == 0 else SAD, 0.5 if frame == 0 else -0.5, None)
    return p, v


def test_first_sample_passes_through():
    p, v, a = ExponentialSmoother(0.5).update(3, 10.0, HAPPY, 0.2, -0.3)
    np.testing.assert_allclose(p, HAPPY, atol=1e-6)
    assert (v, a) == pytest.approx((0.2, -0.3))


def test_smoothing_converges_to_a_constant_input_and_stays_normalised():
    smoother = ExponentialSmoother(0.5)
    smoother.update(1, 0.0, HAPPY, None, None)
    for frame in range(1, 151):
        p, v, a = smoother.update(1, frame / 30, SAD, None, None)
        assert p.sum() == pytest.approx(1.0, abs=1e-6)
        assert v is None and a is None
    np.testing.assert_allclose(p, SAD, atol=1e-3)  # 5 s = 10 time constants


def test_smoothing_does_not_depend_on_frame_rate():
    p24, v24 = smooth_step(24, 1.0)
    p60, v60 = smooth_step(60, 1.0)
    np.testing.assert_allclose(p24, p60, atol=1e-3)
    assert v24 == pytest.approx(v60, abs=1e-3)
    # And it is the continuous-time answer: after 1 s = 2 time constants, exp(-2) of the change is left.
    np.testing.assert_allclose(p24, SAD + (HAPPY - SAD) * np.exp(-2), atol=1e-4)


def test_zero_time_constant_turns_smoothing_off():
    smoother = ExponentialSmoother(0.0)
    smoother.update(1, 0.0, HAPPY, None, None)
    np.testing.assert_allclose(smoother.update(1, 0.04, SAD, None, None)[0], SAD, atol=1e-6)


def test_unnormalised_input_comes_out_normalised():
    p, _, _ = ExponentialSmoother(0.5).update(1, 0.0, np.array([2.0, 2.0, 4.0]), None, None)
    np.testing.assert_allclose(p, [0.25, 0.25, 0.5])


def test_faces_are_smoothed_separately_and_prune_forgets():
    smoother = ExponentialSmoother(0.5)
    smoother.update(1, 0.0, HAPPY, None, None)
    smoother.update(2, 0.0, SAD, None, None)
    p1, _, _ = smoother.update(1, 0.1, HAPPY, None, None)
    np.testing.assert_allclose(p1, HAPPY, atol=1e-6)  # face 2's sadness does not leak into face 1
    smoother.prune([2])
    p1, _, _ = smoother.update(1, 0.2, SAD, None, None)
    np.testing.assert_allclose(p1, SAD, atol=1e-6)  # forgotten: a new first sample
    assert not np.allclose(smoother.update(2, 0.2, HAPPY, None, None)[0], HAPPY, atol=1e-2)
    smoother.reset()
    np.testing.assert_allclose(smoother.update(2, 0.3, HAPPY, None, None)[0], HAPPY, atol=1e-6)


@pytest.mark.parametrize(("fps", "every"), [(30, 6), (60, 12), (25, 5), (24, 5)])
def test_feature_window_samples_every_200_ms(fps: int, every: int):
    window = FeatureWindow(window=10, sample_period=0.2)
    sampled = [
        frame for frame in range(3 * fps) if window.update(7, frame / fps, np.full(4, frame, np.float32))
    ]
    assert sampled == list(range(0, 3 * fps, every))
    # The window holds the last 10 samples, oldest first: the last 2 s.
    np.testing.assert_array_equal(window.window_for(7)[:, 0], sampled[-10:])


def test_feature_window_pads_a_short_track_with_its_first_sample():
    window = FeatureWindow(window=10, sample_period=0.2)
    for k in range(3):
        assert window.update(1, 0.2 * k, np.full(512, k + 1, np.float32))
    assert not window.update(1, 0.5, np.zeros(512, np.float32))  # 0.1 s after the last sample
    w = window.window_for(1)
    assert w.shape == (10, 512) and w.dtype == np.float32
    np.testing.assert_array_equal(w[:, 0], [1] * 8 + [2, 3])


def test_feature_window_prune_and_reset():
    window = FeatureWindow()
    window.update(1, 0.0, np.ones(3))
    window.update(2, 0.0, np.ones(3))
    assert len(window) == 2
    window.prune([2])
    assert 1 not in window and 2 in window and len(window) == 1
    assert window.update(1, 0.05, np.ones(3))  # a new track: first feature sampled at once
    window.reset()
    assert 1 not in window and 2 not in window


class CountingLstm(nn.Module):
    """A tiny deterministic stand-in for EmotionLSTM: (B, T, D) -> (B, 7) logits; counts calls."""

    def __init__(self, dim: int = 512) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(dim, 16, batch_first=True)
        self.fc = nn.Linear(16, 7)
        self.batch_sizes: list[int] = []

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        assert seq.shape[1:] == (10, 512) and seq.dtype == torch.float32
        self.batch_sizes.append(len(seq))
        out, _ = self.lstm(seq)
        return self.fc(out[:, -1]) * 5


def features(*seeds: int) -> np.ndarray:
    return np.stack([np.random.default_rng(s).random(512, dtype=np.float32) for s in seeds])


def test_lstm_output_is_the_softmax_of_the_window():
    module = CountingLstm()
    model = LstmTemporalModel(module)
    out = model.update([4], 0.0, features(1))
    assert set(out) == {4} and out[4].shape == (7,) and out[4].dtype == np.float32
    assert out[4].sum() == pytest.approx(1.0, abs=1e-6)
    expected = torch.softmax(module(torch.from_numpy(np.repeat(features(1)[None], 10, axis=1))), 1)
    np.testing.assert_allclose(out[4], expected[0].detach().numpy(), atol=1e-6)  # [f] * 10 at first


def test_lstm_runs_once_per_new_sample_in_one_batch_and_holds_in_between():
    module = CountingLstm()
    model = LstmTemporalModel(module, sample_period=0.2)
    fps = 30
    outputs = []
    for frame in range(2 * fps):  # 2 s at 30 fps: samples at frames 0, 6, 12, ...
        ids = [1, 2] if frame < 45 else [1, 2, 3]  # face 3 appears at frame 45, not on the sampling grid
        out = model.update(ids, frame / fps, features(*(frame * 10 + i for i in ids)))
        assert sorted(out) == ids
        assert all(p.sum() == pytest.approx(1.0, abs=1e-6) for p in out.values())
        outputs.append(out)
    # Faces 1 and 2: one batched run per sample (10 in 2 s); face 3: its own grid from frame 45.
    runs_12 = list(range(0, 60, 6))
    runs_3 = list(range(45, 60, 6))
    assert len(module.batch_sizes) == len(set(runs_12) | set(runs_3))
    assert sorted(module.batch_sizes) == sorted([2] * len(runs_12) + [1] * len(runs_3))
    for frame in range(1, 60):  # between samples a face keeps its last output
        if frame not in runs_12:
            np.testing.assert_array_equal(outputs[frame][1], outputs[frame - 1][1])
        else:
            assert not np.allclose(outputs[frame][1], outputs[frame - 1][1])


def test_lstm_prune_and_reset_forget_faces():
    module = CountingLstm()
    model = LstmTemporalModel(module)
    first = model.update([1, 2], 0.0, features(1, 2))
    model.prune([2])
    again = model.update([1, 2], 0.05, features(3, 4))  # face 1 starts over; face 2 holds
    assert module.batch_sizes == [2, 1]
    np.testing.assert_array_equal(again[2], first[2])
    assert not np.allclose(again[1], first[1])
    model.reset()
    model.update([2], 0.1, features(5))
    assert module.batch_sizes == [2, 1, 1]
    assert model.update([], 0.2, np.zeros((0, 512), np.float32)) == {}
