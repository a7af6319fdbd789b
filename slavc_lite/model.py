"""The SLAVC model: online and momentum encoders, two heads per modality, the loss.

Module names are the official checkpoint's (``imgnet``, ``img_proj1``, ...,
``momentum_aud_proj2``), so ``SLAVC().load_state_dict(official["model"])`` works with
``strict=True`` once a DDP ``module.`` prefix is stripped (see :mod:`checkpoints`).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from slavc_lite import encoders, losses
from slavc_lite.momentum import ema_update, make_momentum_copy, paired_parameters
from slavc_lite.weights import ImageWeights

LossName = Literal["official", "paper", "ezvsl"]
LOSSES: tuple[str, ...] = ("official", "paper", "ezvsl")

#: Names of the four online submodules that make up each modality.
IMAGE_MODULES = ("imgnet", "img_proj1", "img_proj2")
AUDIO_MODULES = ("audnet", "aud_proj1", "aud_proj2")


class SLAVC(nn.Module):
    """SLAVC with the official hyper-parameters as defaults.

    Args:
        backbone: ``"resnet18"`` (faithful), ``"mobilenet_v3_small"`` (CPU-friendly) or
            ``"local_cnn"`` (the toy world's image trunk, MobileNetV3-small audio trunk).
        image_weights: ``None`` (random init, e.g. before loading a checkpoint),
            ``"imagenet"`` (torchvision's weights; offline without a cached file it raises)
            or a path to a torchvision state dict.
        dim: width of the four projection heads.
        tau: temperature of every softmax and of the logits.
        dropout_img: dropout on the image feature map before the heads (official 0.9).
        dropout_aud: dropout on the audio vector before the heads (official 0).
        momentum_img, momentum_aud: EMA coefficients of the momentum encoders.
        loss: ``"official"`` (sum over locations), ``"paper"`` (max over locations) or
            ``"ezvsl"`` (max-over-locations contrastive baseline, no momentum targets).
        use_momentum_eval: localization logits from the momentum encoders (official).
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        image_weights: ImageWeights = None,
        dim: int = 512,
        tau: float = 0.03,
        dropout_img: float = 0.9,
        dropout_aud: float = 0.0,
        momentum_img: float = 0.999,
        momentum_aud: float = 0.999,
        loss: LossName = "official",
        use_momentum_eval: bool = True,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {loss!r}")
        for name, m in (("momentum_img", momentum_img), ("momentum_aud", momentum_aud)):
            if not 0.0 <= m <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], not {m}")
        self.backbone = backbone
        self.dim = dim
        self.tau = tau
        self.m_img = momentum_img
        self.m_aud = momentum_aud
        self.loss_name = loss
        self.use_momentum_eval = use_momentum_eval

        # Online networks, in the official order of registration.
        self.imgnet = encoders.build_image_encoder(backbone, image_weights)
        self.img_dropout = nn.Dropout(p=dropout_img)
        channels = self.imgnet.out_channels
        self.img_proj1 = encoders.image_head(channels, dim)
        self.img_proj2 = encoders.image_head(channels, dim)
        self.audnet = encoders.build_audio_encoder(backbone)
        self.aud_proj1 = encoders.audio_head(self.audnet.out_channels, dim)
        self.aud_proj2 = encoders.audio_head(self.audnet.out_channels, dim)
        self.aud_dropout = nn.Dropout(p=dropout_aud)
        for net in (self.audnet, self.img_proj1, self.aud_proj1, self.img_proj2, self.aud_proj2):
            encoders.init_official(net)

        # Momentum networks: copies of all six online parts, never trained by gradients.
        for name in IMAGE_MODULES + AUDIO_MODULES:
            setattr(self, f"momentum_{name}", make_momentum_copy(getattr(self, name)))

    # ------------------------------------------------------------------ features
    def _parts(self, names: tuple[str, ...], momentum: bool) -> list[nn.Module]:
        prefix = "momentum_" if momentum else ""
        return [getattr(self, prefix + n) for n in names]

    def encode_image(
        self, images: torch.Tensor, momentum: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Head-1 and head-2 image maps ``[B, dim, h, w]``, L2-normalised over channels."""
        net, proj1, proj2 = self._parts(IMAGE_MODULES, momentum)
        feats = self.img_dropout(net(images))
        return F.normalize(proj1(feats), dim=1), F.normalize(proj2(feats), dim=1)

    def encode_audio(
        self, specs: torch.Tensor, momentum: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Head-1 and head-2 audio vectors ``[B, dim]``, L2-normalised."""
        net, proj1, proj2 = self._parts(AUDIO_MODULES, momentum)
        feats = self.aud_dropout(net(specs))
        return F.normalize(proj1(feats), dim=1), F.normalize(proj2(feats), dim=1)

    # ------------------------------------------------------------------ momentum
    def momentum_parameter_groups(self) -> list[tuple[list[torch.Tensor], list[torch.Tensor], float]]:
        """``(online, momentum, m)`` parameter lists for the image and the audio side."""
        groups = []
        for names, m in ((IMAGE_MODULES, self.m_img), (AUDIO_MODULES, self.m_aud)):
            online, target = [], []
            for n in names:
                a, b = paired_parameters(getattr(self, n), getattr(self, f"momentum_{n}"))
                online += a
                target += b
            groups.append((online, target, m))
        return groups

    @torch.no_grad()
    def update_momentum(self) -> None:
        """``theta_m <- m * theta_m + (1 - m) * theta`` for both modalities (parameters only)."""
        for online, target, m in self.momentum_parameter_groups():
            ema_update(online, target, m)

    # ------------------------------------------------------------------ training
    def forward(
        self, images: torch.Tensor, specs: torch.Tensor, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The training loss (see :meth:`training_loss`); ``forward`` so that DDP wraps it."""
        if exclude is not None and self.loss_name == "ezvsl":
            raise ValueError("exclude is an option of the SLAVC losses ('official', 'paper'), not of 'ezvsl'")
        if self.training:
            self.update_momentum()
        online_img = self.encode_image(images)
        online_aud = self.encode_audio(specs)
        if self.loss_name == "ezvsl":
            return losses.ezvsl_loss(online_img, online_aud, self.tau)
        with torch.no_grad():
            momentum_img = self.encode_image(images, momentum=True)
            momentum_aud = self.encode_audio(specs, momentum=True)
        reduce = "sum" if self.loss_name == "official" else "max"
        return losses.slavc_loss(online_img, online_aud, momentum_img, momentum_aud, self.tau, reduce,
                                 exclude=exclude)

    def training_loss(
        self, images: torch.Tensor, specs: torch.Tensor, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """In train mode: the momentum update, then the loss (official ``forward``'s order).

        Args:
            images: ``[B, 3, H, W]`` ImageNet-normalised frames.
            specs: ``[B, 1, F, T]`` log-spectrograms divided by 12.
            exclude: ``[B, B]`` bool, pairs left out of the loss's negatives
                (:func:`slavc_lite.losses.slavc_scores`); ``None`` (official): none.
        """
        return self(images, specs, exclude)

    # ------------------------------------------------------------------ inference
    def similarity_maps(
        self, images: torch.Tensor, specs: torch.Tensor, momentum: bool | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine maps ``S_1, S_2`` ``[B, h, w]`` of each image with its own audio (Eq. 6)."""
        momentum = self.use_momentum_eval if momentum is None else momentum
        img1, img2 = self.encode_image(images, momentum=momentum)
        aud1, aud2 = self.encode_audio(specs, momentum=momentum)
        s1 = torch.einsum("nchw,nc->nhw", img1, aud1)
        s2 = torch.einsum("nchw,nc->nhw", img2, aud2)
        return s1, s2

    def localization_logits(
        self, images: torch.Tensor, specs: torch.Tensor, momentum: bool | None = None
    ) -> torch.Tensor:
        """``(S_1 / tau + S_2 / tau) / 2`` ``[B, h, w]``, from the momentum encoders by default."""
        s1, s2 = self.similarity_maps(images, specs, momentum)
        return (s1 / self.tau + s2 / self.tau) / 2

    def hyperparameters(self) -> dict:
        """The constructor arguments that define this model (saved with checkpoints)."""
        return {
            "backbone": self.backbone,
            "dim": self.dim,
            "tau": self.tau,
            "dropout_img": self.img_dropout.p,
            "dropout_aud": self.aud_dropout.p,
            "momentum_img": self.m_img,
            "momentum_aud": self.m_aud,
            "loss": self.loss_name,
            "use_momentum_eval": self.use_momentum_eval,
        }
