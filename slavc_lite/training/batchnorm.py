"""The BatchNorm running statistics of a short run.

In eval mode a BatchNorm layer normalises with running averages of the batch statistics seen
in training, updated as ``running <- (1 - momentum) * running + momentum * batch``. PyTorch's
default momentum is 0.1 (the official SLAVC's ResNet-18 encoders use it); torchvision's
MobileNetV3 sets 0.01, tuned for ImageNet schedules of hundreds of thousands of steps. In a
few-hundred-step CPU run the activations shrink fast at first (the audio encoder starts from
scratch), and with momentum 0.01 the running variances still remember those early batches:
measured on the toy world after 372 steps, the eval-mode variances of the deepest audio layers
were 1,000x too large and every clip got the same audio embedding (cosine 1.000), so the
momentum encoders' maps (review Eq. 6) ignored the sound. ``model.bn_momentum`` sets one value
for every BatchNorm layer of the run (0.1 in the ``cpu-toy`` preset: the statistics follow the
weights within about ten steps).
"""

from __future__ import annotations

from torch import nn

__all__ = ["set_batch_norm_momentum"]


def set_batch_norm_momentum(module: nn.Module, momentum: float | None) -> int:
    """Set the running-statistics momentum of every BatchNorm layer in ``module``; returns how many.

    ``None`` leaves the layers as built (it does not mean PyTorch's cumulative average here).
    """
    if momentum is None:
        return 0
    if not 0.0 < momentum <= 1.0:
        raise ValueError(f"BatchNorm momentum must be in (0, 1], not {momentum}")
    count = 0
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.momentum = float(momentum)
            count += 1
    return count
