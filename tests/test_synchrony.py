"""The audio-visual synchrony map and the gate that combines it with a semantic map."""

from __future__ import annotations

import numpy as np
import pytest

from slavc_lite.synchrony import (
    audio_energy,
    correlation_map,
    gated_map,
    relative,
    synchrony_map,
    visual_change,
    windowed_synchrony_maps,
)

SR = 16000
FPS = 8.0


def _loop_correlation(signal: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Pearson correlation cell by cell with numpy's corrcoef (constant series: 0)."""
    out = np.zeros(change.shape[1:])
    for i in range(change.shape[1]):
        for j in range(change.shape[2]):
            v = change[:, i, j]
            if np.std(v) == 0 or np.std(signal) == 0:
                continue
            out[i, j] = np.corrcoef(signal, v)[0, 1]
    return out


def _pulsing_clip(rng: np.random.Generator, n: int = 24):
    """Two squares: the left one's brightness follows the audio's loudness, the right one's
    follows another random envelope. Returns frames, times, waveform, the two boxes."""
    heard = rng.random(n)
    other = rng.random(n)
    frames = np.full((n, 64, 64, 3), 60, np.uint8)
    for k in range(n):
        frames[k, 20:40, 4:24] = int(80 + 150 * heard[k])
        frames[k, 20:40, 40:60] = int(80 + 150 * other[k])
    samples_per_frame = int(SR / FPS)
    tone = np.sin(2 * np.pi * 440 * np.arange(samples_per_frame) / SR)
    waveform = np.concatenate([0.05 + 0.5 * heard[k] * tone for k in range(n)])
    times = np.arange(n) / FPS
    return frames, times, waveform, (4, 20, 24, 40), (40, 20, 60, 40)


def test_correlation_map_matches_a_loop_over_cells():
    rng = np.random.default_rng(0)
    signal = rng.random(23)
    change = rng.random((23, 5, 6))
    change[:, 0, 0] = 0.3  # a cell that never changes
    np.testing.assert_allclose(correlation_map(signal, change), _loop_correlation(signal, change), atol=1e-10)


def test_audio_energy_is_the_rms_of_each_frame_interval():
    times = np.arange(4) / 4.0
    waveform = np.concatenate([np.full(4000, v) for v in (0.1, -0.2, 0.3, 0.0)])
    np.testing.assert_allclose(audio_energy(waveform, 16000, times), [0.1, 0.2, 0.3, 0.0], atol=1e-12)


def test_visual_change_is_the_block_mean_grey_difference():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1, :4, :4] = 255
    change = visual_change(frames, cell=4)
    assert change.shape == (2, 2, 2)
    np.testing.assert_allclose(change[0], [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(change[1], [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)


def test_the_synchronous_square_wins():
    frames, times, waveform, heard_box, other_box = _pulsing_clip(np.random.default_rng(3))
    s = synchrony_map(frames, times, waveform, SR, cell=4, smooth=0.0, size=64)
    x0, y0, x1, y1 = heard_box
    a0, b0, a1, b1 = other_box
    assert s[y0:y1, x0:x1].max() > 0.8
    assert s[b0:b1, a0:a1].max() < 0.5
    y, x = np.unravel_index(np.argmax(s), s.shape)
    assert x0 <= x < x1 and y0 <= y < y1
    assert 0.0 <= s.min() and s.max() <= 1.0


def test_a_still_video_has_no_synchrony():
    frames = np.full((10, 32, 32, 3), 90, np.uint8)
    times = np.arange(10) / FPS
    waveform = np.random.default_rng(0).standard_normal(int(10 / FPS * SR)) * 0.1
    assert synchrony_map(frames, times, waveform, SR, size=32).max() == 0.0


def test_synchrony_refuses_too_few_frames_and_bad_times():
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 3 frames"):
        synchrony_map(frames, np.array([0.0, 0.1]), np.zeros(1600), SR)
    with pytest.raises(ValueError, match="increase"):
        synchrony_map(np.zeros((3, 16, 16, 3), np.uint8), np.array([0.0, 0.2, 0.1]), np.zeros(1600), SR)


def test_windowed_maps_use_the_frames_around_each_centre():
    frames, times, waveform, heard_box, _ = _pulsing_clip(np.random.default_rng(5), n=40)
    maps = windowed_synchrony_maps(frames, times, waveform, SR, centres=np.array([0.0, 2.5]), seconds=3.0,
                                   cell=4, smooth=0.0, size=64)
    assert maps.shape == (2, 64, 64)
    x0, y0, x1, y1 = heard_box
    for m in maps:
        y, x = np.unravel_index(np.argmax(m), m.shape)
        assert x0 <= x < x1 and y0 <= y < y1


def test_relative_is_the_per_map_min_max():
    maps = np.stack([np.array([[1.0, 2.0], [3.0, 5.0]]), np.full((2, 2), 4.0)]).astype(np.float32)
    out = relative(maps)
    np.testing.assert_allclose(out[0], [[0.0, 0.25], [0.5, 1.0]])
    np.testing.assert_allclose(out[1], 0.0)


def test_gated_map_keeps_the_semantic_ranking_at_weight_zero_and_is_the_product_at_one():
    rng = np.random.default_rng(1)
    semantic = (0.6 + 0.05 * rng.random((8, 8))).astype(np.float32)  # a flat map, as on the fixed scale
    sync = rng.random((8, 8)).astype(np.float32)
    rel = (semantic - semantic.min()) / (semantic.max() - semantic.min())
    np.testing.assert_allclose(gated_map(semantic, sync, 0.0), rel, atol=1e-6)
    np.testing.assert_allclose(gated_map(semantic, sync, 1.0), rel * sync / sync.max(), atol=1e-6)
    half = gated_map(semantic, sync, 0.5)
    np.testing.assert_allclose(half, rel * (0.5 + 0.5 * sync / sync.max()), atol=1e-6)


def test_gated_map_without_synchrony_keeps_the_ranking_and_handles_batches():
    semantic = np.random.default_rng(2).random((2, 6, 6)).astype(np.float32)
    sync = np.zeros((2, 6, 6), np.float32)
    sync[1, 2, 3] = 0.5
    out = gated_map(semantic, sync, 0.75)
    np.testing.assert_allclose(out[0], 0.25 * relative(semantic[0]), atol=1e-6)
    assert out[1, 2, 3] == pytest.approx(relative(semantic[1])[2, 3])
    with pytest.raises(ValueError, match="weight"):
        gated_map(semantic, sync, 1.5)
    with pytest.raises(ValueError, match="shape"):
        gated_map(semantic, sync[0], 0.5)
