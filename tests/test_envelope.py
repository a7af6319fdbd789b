"""The RMS envelope shared by the toy video world and the synchrony map."""

from __future__ import annotations

import numpy as np
import pytest

from slavc_lite.data.toy.motion import frame_envelope
from slavc_lite.envelope import interval_rms
from slavc_lite.synchrony import audio_energy


def test_rms_over_each_interval_clipped_to_the_waveform():
    x = np.concatenate([np.full(10, 0.5), np.full(10, -2.0), np.zeros(5)])
    starts, ends = np.array([0.0, 1.0, 0.5, 2.0, 3.0, -1.0]), np.array([1.0, 2.0, 1.5, 3.0, 4.0, 0.0])
    rms = interval_rms(x, 10, starts, ends)
    np.testing.assert_allclose(rms, [0.5, 2.0, np.sqrt((5 * 0.25 + 5 * 4.0) / 10), 0.0, 0.0, 0.0])


def test_intervals_must_pair_up():
    with pytest.raises(ValueError, match="one length"):
        interval_rms(np.ones(10), 10, np.zeros(3), np.ones(2))


@pytest.mark.parametrize(("sample_rate", "fps"), [(16000, 8.0), (22050, 30000 / 1001), (44100, 25.0)])
def test_the_toy_world_moves_objects_by_the_envelope_the_synchrony_measures(sample_rate, fps):
    waveform = np.random.default_rng(0).normal(size=int(3.2 * sample_rate))
    n = int(3 * fps)
    times = np.arange(n) / fps
    np.testing.assert_array_equal(frame_envelope(waveform, sample_rate, n, fps),
                                  audio_energy(waveform, sample_rate, times))
