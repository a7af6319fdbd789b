"""Localize the sound source in one image: the IPOL demo's SLAVC, OGL and VSL maps.

For one image and one audio clip (the official test path, review Eq. 5-7):

* SLAVC map: ``(S_1 + S_2) / 2 / tau`` from the momentum encoders, upsampled to 224 x 224
  and scaled to [0, 1] (:func:`slavc_lite.maps.slavc_map`);
* OGL map: the mean ``|o|`` of a never fine-tuned object network of the visual encoder's
  architecture (ImageNet weights in the official code), upsampled and scaled from [0, 2.5]
  (:func:`slavc_lite.maps.ogl_map`);
* VSL map: ``alpha * SLAVC + (1 - alpha) * OGL`` (:func:`slavc_lite.maps.vsl_map`), alpha 0.4
  in the IPOL demo;
* the confidence of each map: the mean of its top quarter (:func:`slavc_lite.maps.confidence`).

:class:`Localizer` holds the two networks; :meth:`Localizer.from_weights` builds them under the
weights policy of :mod:`slavc_lite.weights`: a trained SLAVC checkpoint is required unless
random weights are asked for explicitly, and then every result says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from slavc_lite import maps
from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.model import SLAVC
from slavc_lite.weights import ImageWeights, describe_weights

__all__ = [
    "RANDOM_WEIGHTS",
    "RELEASED_CHECKPOINT_ID",
    "NO_CHECKPOINT_MESSAGE",
    "MAP_NAMES",
    "RANDOM_TITLE",
    "resolve_device",
    "LocalizationResult",
    "Localizer",
]

RANDOM_WEIGHTS = "random (untrained) weights"
"""How results made with untrained networks describe their weights."""

RANDOM_TITLE = "random weights (untrained) - not a real result"
"""The warning every figure, video and message made with untrained networks carries."""

RELEASED_CHECKPOINT_ID = "1wHufeLWZBv97IaE0cv0GrFk4pLX5NMUj"
"""Google Drive file id of the released SLAVC model (VGGSound-144k), from the official README."""

NO_CHECKPOINT_MESSAGE = (
    "No SLAVC weights were given, and a localization map from an untrained model means nothing. "
    "Get the released SLAVC model (trained on VGGSound-144k): Google Drive file id "
    f"{RELEASED_CHECKPOINT_ID} (https://drive.google.com/file/d/{RELEASED_CHECKPOINT_ID}; see the "
    "README, section 'Weights'); a .pth file, a zip/tar archive holding one or a folder all work. "
    "Or train a model yourself (see the training notebooks). Then pass it with --checkpoint PATH "
    "(Python: Localizer.from_weights(checkpoint=PATH)). To run the pipeline with untrained "
    "networks on purpose, e.g. to test an installation, pass --random-weights "
    "(Python: random_weights=True); every figure will then say so."
)
"""What to do when no SLAVC checkpoint is given (shown by the command line, without traceback)."""

MAP_NAMES = ("slavc", "ogl", "vsl")
"""The maps every localization computes, in this order (review Eq. 6, 5 and 7)."""

_AUTO = "auto"

ImageInput = str | os.PathLike | Image.Image | torch.Tensor
AudioInput = str | os.PathLike | torch.Tensor


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"``: CUDA if available, else Apple's MPS, else the CPU; else ``device``."""
    if device is None or (isinstance(device, str) and device == _AUTO):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


@dataclass
class LocalizationResult:
    """The three maps of one image-audio pair, on the fixed [0, 1] scale of the official test.

    Attributes:
        image: the network input as displayed, ``H x W x 3`` uint8 (224 x 224 for files).
        slavc, ogl, vsl: float32 ``[224, 224]`` maps (Eq. 6, 5 and 7). Not clipped: bicubic
            overshoot and OGL values above 2.5 leave [0, 1] slightly, as in the official code.
        confidences: ``{"slavc", "ogl", "vsl"}``: mean of the top quarter of each map.
        alpha: the VSL weight of ``vsl``.
    """

    image: np.ndarray
    slavc: np.ndarray
    ogl: np.ndarray
    vsl: np.ndarray
    confidences: dict[str, float]
    alpha: float

    def reblend(self, alpha: float) -> np.ndarray:
        """VSL for another ``alpha`` from the cached maps (Eq. 7), no network call.

        ``alpha * slavc + (1 - alpha) * ogl`` via :func:`slavc_lite.maps.vsl_map`: about
        0.1 ms for 224 x 224, fast enough for an interactive slider.
        """
        return maps.vsl_map(self.slavc, self.ogl, alpha)

    def with_alpha(self, alpha: float) -> LocalizationResult:
        """A copy with ``vsl``, its confidence and ``alpha`` recomputed for ``alpha``."""
        vsl = self.reblend(alpha)
        confidences = dict(self.confidences, vsl=float(maps.confidence(torch.from_numpy(vsl))[0]))
        return replace(self, vsl=vsl, confidences=confidences, alpha=float(alpha))


def _image_tensor(image: ImageInput) -> torch.Tensor:
    """A normalised ``[3, H, W]`` network input from a path, a PIL image or a tensor."""
    from slavc_lite import images

    if isinstance(image, torch.Tensor):
        x = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
        if x.ndim != 3 or x.shape[0] != 3:
            raise ValueError(
                f"image tensor must be [3, H, W] (ImageNet-normalised), got {tuple(image.shape)}"
            )
        return x.float()
    if isinstance(image, Image.Image):
        return images.test_transform()(image.convert("RGB"))
    return images.load_image_tensor(image)


def _spectrogram(audio: AudioInput) -> torch.Tensor:
    """A ``[1, 257, T]`` log-spectrogram (divided by 12) from a path or a tensor."""
    if isinstance(audio, torch.Tensor):
        x = audio
        while x.ndim > 3 and x.shape[0] == 1:
            x = x[0]
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[0] != 1:
            raise ValueError(
                f"audio tensor must be a spectrogram [1, F, T] or [F, T], got {tuple(audio.shape)}"
            )
        return x.float()
    from slavc_lite.audio import load_spectrogram

    return load_spectrogram(audio)


class Localizer:
    """SLAVC + OGL inference for one pair at a time, on any device.

    Args:
        model: a SLAVC model (its momentum encoders give the SLAVC map, as officially).
        object_net: the OGL object network: a visual trunk ``[B, C, h, w]`` of the same
            architecture as ``model``'s visual encoder, never fine-tuned.
        device: ``"auto"``/``None`` (CUDA, MPS or CPU), or any torch device.
        weights_description: ``{"slavc": ..., "ogl": ...}``: which weights each network has,
            for result files and figure titles.
        random_weights: whether either network has untrained weights (results then say so).
    """

    def __init__(
        self,
        model: SLAVC,
        object_net: nn.Module,
        device: str | torch.device | None = None,
        weights_description: dict[str, str] | None = None,
        random_weights: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.object_net = object_net.to(self.device).eval()
        self.weights_description = dict(weights_description or {"slavc": "unspecified", "ogl": "unspecified"})
        self.random_weights = bool(random_weights)

    @classmethod
    def from_weights(
        cls,
        checkpoint: str | os.PathLike | None = None,
        ogl_weights: ImageWeights = _AUTO,
        random_weights: bool = False,
        backbone: str | None = None,
        device: str | torch.device | None = None,
    ) -> Localizer:
        """Build a localizer under the weights policy (no silent random weights).

        Args:
            checkpoint: a SLAVC checkpoint: ours (rebuilt from its config) or the official
                format (a .pth, an archive or a folder; see
                :func:`slavc_lite.checkpoints.load_official_checkpoint`).
            ogl_weights: the OGL network's weights: ``"imagenet"`` (torchvision's, as
                officially), a state-dict file of the backbone, ``None`` (random) or
                ``"auto"``: ImageNet with a checkpoint, random with ``random_weights``.
            random_weights: build an untrained SLAVC (and, unless ``ogl_weights`` is given, an
                untrained OGL network) on purpose. Excludes ``checkpoint``.
            backbone: the visual architecture; a checkpoint fixes it (a different value is an
                error); without one the default is ``"resnet18"``.
            device: see :class:`Localizer`.

        Raises:
            WeightsUnavailableError: no checkpoint and no ``random_weights`` (the message says
                where the released model is), or ImageNet weights that cannot be had offline.
            CheckpointError: an unreadable or mismatched checkpoint.
        """
        from slavc_lite.checkpoints import load_model
        from slavc_lite.encoders import build_image_encoder

        if checkpoint is not None and random_weights:
            raise ValueError("give either a checkpoint or random_weights=True, not both")
        if checkpoint is None and not random_weights:
            raise WeightsUnavailableError(NO_CHECKPOINT_MESSAGE)
        if checkpoint is not None:
            model, slavc_description = load_model(checkpoint)
            if backbone is not None and backbone != model.backbone:
                raise ValueError(f"backbone {backbone!r} was asked for but {Path(checkpoint).name} "
                                 f"holds a {model.backbone} model")
        else:
            model = SLAVC(backbone=backbone or "resnet18", image_weights=None)
            slavc_description = RANDOM_WEIGHTS
        if isinstance(ogl_weights, str) and ogl_weights == _AUTO:
            ogl_weights = None if random_weights else "imagenet"
        object_net = build_image_encoder(model.backbone, ogl_weights)
        ogl_description = RANDOM_WEIGHTS if ogl_weights is None else describe_weights(ogl_weights)
        return cls(
            model,
            object_net,
            device=device,
            weights_description={"slavc": slavc_description, "ogl": f"{model.backbone}, {ogl_description}"},
            random_weights=random_weights or ogl_weights is None,
        )

    @torch.inference_mode()
    def localize_batch(
        self, images: torch.Tensor, spectrograms: torch.Tensor, alpha: float = maps.DEFAULT_ALPHA
    ) -> dict[str, torch.Tensor]:
        """The SLAVC, OGL and VSL maps of ``B`` image-audio pairs in one forward pass.

        Pair ``i`` is ``images[i]`` with ``spectrograms[i]``; the maps are those
        :meth:`localize` gives for each pair alone (to float rounding: tests check 1e-5).

        Args:
            images: ``[B, 3, 224, 224]`` normalised images (the official test transform).
            spectrograms: ``[B, 1, 257, T]`` log-spectrograms divided by 12 (3 s: T = 200).
            alpha: the VSL weight.

        Returns:
            ``{"slavc", "ogl", "vsl"}``: float32 ``[B, 224, 224]`` CPU tensors on the fixed
            [0, 1] scale (not clipped, as officially).
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], not {alpha}")
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [B, 3, H, W], got {tuple(images.shape)}")
        if spectrograms.ndim != 4 or spectrograms.shape[1] != 1 or spectrograms.shape[0] != images.shape[0]:
            raise ValueError(f"spectrograms must be [B, 1, F, T] with B = {images.shape[0]}, "
                             f"got {tuple(spectrograms.shape)}")
        computed = self._maps(images, spectrograms, alpha)
        return {name: m.float().cpu() for name, m in zip(MAP_NAMES, computed, strict=True)}

    def _maps(self, images: torch.Tensor, spectrograms: torch.Tensor,
              alpha: float) -> tuple[torch.Tensor, ...]:
        """SLAVC, OGL and VSL ``[B, 224, 224]`` on the localizer's device (one forward pass)."""
        self.model.eval()
        self.object_net.eval()
        pictures = images.float().to(self.device)
        logits = self.model.localization_logits(pictures, spectrograms.float().to(self.device))
        slavc = maps.slavc_map(logits, self.model.tau)
        ogl = maps.ogl_map(self.object_net(pictures))
        return slavc, ogl, maps.vsl_map(slavc, ogl, alpha)

    @torch.inference_mode()
    def localize(
        self, image: ImageInput, audio: AudioInput, alpha: float = maps.DEFAULT_ALPHA
    ) -> LocalizationResult:
        """The SLAVC, OGL and VSL maps of ``image`` for the sound ``audio``.

        Args:
            image: an image file, a PIL image, or a normalised ``[3, H, W]`` tensor (the
                official test transform: 224 x 224 bicubic resize, ImageNet mean/std).
            audio: an audio (or video) file, or a ``[1, 257, T]`` spectrogram from
                :func:`slavc_lite.audio.load_spectrogram` (3 s centred window, log, / 12).
            alpha: the VSL weight (IPOL demo: 0.4; official extended benchmark: 0.9).

        Raises:
            InputFileError: an image or audio file that is missing, empty or unreadable.
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], not {alpha}")
        picture = _image_tensor(image)
        spec = _spectrogram(audio)
        stacked = torch.cat(self._maps(picture[None], spec[None], alpha)).float()
        confidences = maps.confidence(stacked).cpu().tolist()
        slavc_np, ogl_np, vsl_np = stacked.cpu().numpy()
        from slavc_lite.images import to_display_array

        return LocalizationResult(
            image=to_display_array(picture.cpu()),
            slavc=slavc_np,
            ogl=ogl_np,
            vsl=vsl_np,
            confidences=dict(zip(MAP_NAMES, map(float, confidences), strict=True)),
            alpha=float(alpha),
        )
