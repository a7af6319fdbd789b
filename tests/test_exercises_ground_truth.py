"""Chapter 00's ground-truth check: the reference passes, typical wrong answers fail with a hint."""

from __future__ import annotations

import numpy as np
import pytest

from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.teaching.exercises import check_vggss_gt_map


def draw(boxes, to_pixel=lambda v: int(np.clip(v, 0, 1) * 224), union=True, transpose=False, inclusive=False):
    gt = np.zeros((224, 224))
    for box in boxes:
        x0, y0, x1, y1 = (to_pixel(v) for v in box)
        end = 1 if inclusive else 0
        gt[y0:y1 + end, x0:x1 + end] += 1
    if union:
        gt = np.minimum(gt, 1)
    return gt.T if transpose else gt


def test_reference_and_a_hand_written_answer_pass(capsys):
    assert check_vggss_gt_map(vggss_gt_map, seed=0)
    assert check_vggss_gt_map(draw, seed=1)
    assert capsys.readouterr().out.count("Correct") == 2


@pytest.mark.parametrize(("wrong", "message"), [
    (lambda b: draw(b, transpose=True), "transposed"),
    (lambda b: draw(b, union=False), "union"),
    (lambda b: draw(b, to_pixel=lambda v: round(float(np.clip(v, 0, 1)) * 224)), "truncation"),
    (lambda b: draw(b, to_pixel=lambda v: int(v * 224)), "clip"),
    (lambda b: draw(b, inclusive=True), "end excluded"),
    (lambda b: draw(b)[:223, :223], "224 x 224"),
])
def test_wrong_ground_truths_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_vggss_gt_map(wrong, seed=2)
