"""Chapter 01's frame-transform check: the reference passes, typical wrong transforms fail."""

from __future__ import annotations

import pytest
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from slavc_lite import images
from slavc_lite.teaching.exercises import check_test_transform

NORMALIZE = transforms.Normalize(images.IMAGENET_MEAN, images.IMAGENET_STD)


def test_reference_passes(capsys):
    assert check_test_transform(images.test_transform(), seed=0)
    assert "Correct" in capsys.readouterr().out


def test_an_equivalent_hand_written_transform_passes():
    def mine(picture):
        resized = picture.resize((224, 224), resample=3)  # PIL.Image.BICUBIC, what torchvision calls
        return NORMALIZE(transforms.functional.to_tensor(resized))

    assert check_test_transform(mine, seed=1)


@pytest.mark.parametrize(("wrong", "message"), [
    (transforms.Compose([transforms.Resize(224, InterpolationMode.BICUBIC), transforms.ToTensor(),
                         NORMALIZE]), "shorter side"),
    (transforms.Compose([transforms.Resize((224, 224), InterpolationMode.BICUBIC), transforms.ToTensor()]),
     "ImageNet mean"),
    (transforms.Compose([transforms.Resize((224, 224), InterpolationMode.BILINEAR), transforms.ToTensor(),
                         NORMALIZE]), "bicubic"),
    (transforms.Compose([transforms.Resize((224, 224), InterpolationMode.BICUBIC), transforms.PILToTensor()]),
     "ImageNet mean|differ"),
    (lambda p: images.test_transform()(p).permute(1, 2, 0), "channels come first"),
])
def test_wrong_transforms_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_test_transform(wrong, seed=2)
