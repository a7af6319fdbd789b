"""Slow, independent implementations of the method's equations, written with explicit loops.

They follow the definitions in DESIGN.md section 2 line by line, in float64, on tiny
tensors, so the vectorised library code can be checked against something obviously right.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def dot(a, b) -> float:
    return float(sum(float(x) * float(y) for x, y in zip(a, b, strict=True)))


def softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def scores_loops(img_avc, img_loc, aud_avc, aud_loc, tau: float, reduce: str = "sum"):
    """score[n][m] = log reduce_xy P_avc(m | n, xy) * P_loc(xy | n, m)."""
    n_img, _, h, w = img_avc.shape
    n_aud = aud_avc.shape[0]
    locs = [(y, x) for y in range(h) for x in range(w)]
    s1 = [[[dot(img_avc[n, :, y, x], aud_avc[m]) / tau for (y, x) in locs] for m in range(n_aud)]
          for n in range(n_img)]
    s2 = [[[dot(img_loc[n, :, y, x], aud_loc[m]) / tau for (y, x) in locs] for m in range(n_aud)]
          for n in range(n_img)]
    scores = [[0.0] * n_aud for _ in range(n_img)]
    for n in range(n_img):
        p_avc_per_loc = [softmax([s1[n][m][i] for m in range(n_aud)]) for i in range(len(locs))]
        for m in range(n_aud):
            p_loc = softmax(s2[n][m])
            joint = [p_avc_per_loc[i][m] * p_loc[i] for i in range(len(locs))]
            scores[n][m] = math.log(sum(joint) if reduce == "sum" else max(joint))
    return scores


def cross_entropy_diag(scores) -> float:
    total = 0.0
    for n, row in enumerate(scores):
        top = max(row)
        log_norm = top + math.log(sum(math.exp(v - top) for v in row))
        total += log_norm - row[n]
    return total / len(scores)


def slavc_loss_loops(online_img, online_aud, momentum_img, momentum_aud, tau, reduce="sum") -> float:
    i2a = scores_loops(online_img[0], online_img[1], momentum_aud[0], momentum_aud[1], tau, reduce)
    a2i = scores_loops(momentum_img[0], momentum_img[1], online_aud[0], online_aud[1], tau, reduce)
    return cross_entropy_diag(a2i) + cross_entropy_diag(i2a)


def max_mil_loss_loops(img, aud, tau) -> float:
    n_img, _, h, w = img.shape
    logits = [[max(dot(img[n, :, y, x], aud[m]) / tau for y in range(h) for x in range(w))
               for m in range(aud.shape[0])] for n in range(n_img)]
    transposed = [list(col) for col in zip(*logits, strict=True)]
    return cross_entropy_diag(logits) + cross_entropy_diag(transposed)


def cubic_weight(t: float, a: float = -0.75) -> float:
    """Keys' cubic convolution kernel with PyTorch's a = -0.75."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    if t < 2:
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return 0.0


def bicubic_align_corners_loops(grid: np.ndarray, size: int) -> np.ndarray:
    """Bicubic upsampling with align_corners=True, borders replicated (PyTorch's rule)."""
    h, w = grid.shape
    out = np.zeros((size, size))

    def at(y, x):
        return grid[min(max(y, 0), h - 1), min(max(x, 0), w - 1)]

    for oy in range(size):
        sy = oy * (h - 1) / (size - 1)
        y0 = math.floor(sy)
        for ox in range(size):
            sx = ox * (w - 1) / (size - 1)
            x0 = math.floor(sx)
            value = 0.0
            for j in range(-1, 3):
                wy = cubic_weight(sy - (y0 + j))
                for i in range(-1, 3):
                    value += wy * cubic_weight(sx - (x0 + i)) * at(y0 + j, x0 + i)
            out[oy, ox] = value
    return out


def ciou_loops(pred, gt) -> float:
    inter = union_extra = gt_sum = 0.0
    for p, g in zip(np.ravel(pred), np.ravel(gt), strict=True):
        p = 1.0 if p > 0 else 0.0
        inter += p * g
        gt_sum += g
        union_extra += p * (1.0 if g == 0 else 0.0)
    return inter / (gt_sum + union_extra)


def precision_recall_loops(cious, confs, boxes, thr, ciou_thr=0.5):
    tp = fp = fn = 0
    for c, conf, b in zip(cious, confs, boxes, strict=True):
        if b == 0:
            if conf >= thr:
                fp += 1
        elif conf >= thr:
            if c >= ciou_thr:
                tp += 1
            else:
                fp += 1
        else:
            fn += 1
    p = 1.0 if tp + fp == 0 else tp / (tp + fp)
    r = 1.0 if tp + fn == 0 else tp / (tp + fn)
    return p, r


def average_precision_loops(cious, confs, boxes):
    ordered = sorted(confs)
    skip = max(1, len(confs) // 200)
    thresholds = ordered[:-1][::-1][::skip]
    pr = [precision_recall_loops(cious, confs, boxes, t) for t in thresholds]
    ap = 0.0
    for i in range(len(pr) - 1):
        p_max = max(p for p, _ in pr[i:])
        ap += p_max * (pr[i + 1][1] - pr[i][1])
    return ap


def auc_loops(cious):
    thr = [0.05 * i for i in range(21)]
    rates = [sum(1 for c in cious if c >= t) / len(cious) for t in thr]
    return sum((thr[i + 1] - thr[i]) * (rates[i + 1] + rates[i]) / 2 for i in range(20))


def normalized(t: torch.Tensor, dim: int) -> torch.Tensor:
    return t / t.norm(dim=dim, keepdim=True)
