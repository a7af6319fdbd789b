"""``slavc-lite localize``: the IPOL demo on one image and one sound, or over a video.

    slavc-lite localize --image I --audio A --out DIR [--alpha 0.4] [--checkpoint C]
                        [--ogl-weights imagenet|FILE] [--random-weights] [--backbone NAME]
                        [--device auto]
    slavc-lite localize --video CLIP --out DIR [--fps 2] [--batch-size 16]
                        [--synchrony W [--synchrony-smooth CELLS]] [same options]

Writes ``slavc.png``, ``ogl.png``, ``vsl.png`` (each map over the image), ``figure.png`` (the
review's input | SLAVC | OGL | VSL row) and ``result.json`` (alpha, the confidence of each
map, the weights of each network, the inputs, the device, the library version). Without a
SLAVC checkpoint it refuses (exit status 2, a message saying where the released model is)
unless ``--random-weights`` is given, and then every figure title says the result is not real.

With ``--video`` the frames sampled at ``--fps`` are localized with the official 3 s audio
window centred on each (:mod:`slavc_lite.video_localize`), and ``localized.mp4``,
``timeline.png`` and ``result.json`` are written (:mod:`slavc_lite.video_output`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from slavc_lite.commands._arguments import positive_int, positive_number, share

NAME = "localize"

VIDEO_FPS = 2.0
"""Frames per second localized with ``--video`` unless ``--fps`` says otherwise."""
VIDEO_BATCH_SIZE = 16
"""Frames per forward pass with ``--video`` unless ``--batch-size`` says otherwise."""

FILES = {"slavc": "slavc.png", "ogl": "ogl.png", "vsl": "vsl.png", "figure": "figure.png",
         "result": "result.json"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``localize`` on an argparse subparsers object (``func=run``)."""
    parser = subparsers.add_parser(
        NAME,
        help="SLAVC, OGL and VSL maps of one image and one sound (the IPOL demo), or over a video",
        description="Localize the source of a sound in an image as the IPOL demo does: the SLAVC map "
        "(audio-visual similarity), the OGL map (object prior of an ImageNet network) and their blend "
        "VSL = alpha * SLAVC + (1 - alpha) * OGL. Writes slavc.png, ogl.png, vsl.png, figure.png and "
        "result.json to --out. With --video CLIP instead of --image and --audio: the maps of frames "
        "sampled at --fps, each with the 3 s of sound centred on it; writes localized.mp4, timeline.png "
        "and result.json.",
    )
    parser.add_argument("--image", type=Path, metavar="FILE", help="image (jpg, png, ...)")
    parser.add_argument("--audio", type=Path, metavar="FILE",
                        help="sound (wav, flac, ogg, mp3, or a video file); its centred 3 s are used")
    parser.add_argument("--video", type=Path, metavar="CLIP",
                        help="a video with sound (mp4, mov, mkv, webm, ...) to localize over time, "
                        "instead of --image and --audio")
    parser.add_argument("--fps", type=positive_number, default=None,
                        help="with --video: frames per second to localize (default 2)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="with --video: frames per forward pass (default 16)")
    parser.add_argument("--synchrony", type=share("the synchrony weight"), default=None, metavar="W",
                        help="with --video: add the audio-visual synchrony map of every frame and SLAVC "
                        "and VSL "
                        "gated by it with weight W in [0, 1] (chapter 09); localized.mp4 then shows "
                        "VSL gated by synchrony")
    parser.add_argument("--synchrony-smooth", type=positive_number, default=None, metavar="CELLS",
                        help="with --synchrony: Gaussian smoothing of the synchrony map, in cells of 4 "
                        "pixels (default 1; the README gives the weight and smoothing make run chose "
                        "on the toy validation clips)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--alpha", type=share("alpha"), default=0.4,
                        help="VSL weight of the SLAVC map (default 0.4 as in the IPOL demo; the "
                        "official extended benchmark uses 0.9)")
    parser.add_argument("--checkpoint", type=Path, metavar="PATH",
                        help="SLAVC weights: the released model (.pth, a zip/tar holding it, or a "
                        "folder) or a slavc-lite training checkpoint")
    parser.add_argument("--ogl-weights", metavar="imagenet|FILE", default=None,
                        help="weights of the OGL object network: 'imagenet' (torchvision's, the default "
                        "with a checkpoint) or a state-dict file of the backbone")
    parser.add_argument("--random-weights", action="store_true",
                        help="use untrained networks on purpose (to test an installation); every "
                        "figure then says the result is not real")
    parser.add_argument("--backbone", choices=("resnet18", "mobilenet_v3_small", "local_cnn"), default=None,
                        help="visual architecture (default: the checkpoint's; resnet18 without one)")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps (default auto)")
    parser.set_defaults(func=run)
    return parser


def _titles(result, localizer, image: Path, audio: Path) -> dict[str, str]:
    """Figure titles: what each map is, its confidence, and the weights (or the warning)."""
    from slavc_lite.localize import RANDOM_TITLE

    if localizer.random_weights:
        weights_line = RANDOM_TITLE
    else:
        weights_line = f"SLAVC: {localizer.weights_description['slavc']}"
    conf = result.confidences
    return {
        "slavc": f"SLAVC map, confidence {conf['slavc']:.3f}\n{weights_line}",
        "ogl": f"OGL map, confidence {conf['ogl']:.3f}\n"
        + (RANDOM_TITLE if localizer.random_weights else f"OGL: {localizer.weights_description['ogl']}"),
        "vsl": f"VSL map (alpha = {result.alpha:g}), confidence {conf['vsl']:.3f}\n{weights_line}",
        "figure": f"{image.name} + {audio.name}\n"
        + (RANDOM_TITLE if localizer.random_weights
           else f"SLAVC: {localizer.weights_description['slavc']}; "
                f"OGL: {localizer.weights_description['ogl']}"),
    }


def _usage_error(message: str) -> int:
    print(f"slavc-lite localize: error: {message}", file=sys.stderr)
    return 2


def _localizer(args: argparse.Namespace):
    """The networks under the weights policy; warns on stderr when they are untrained."""
    from slavc_lite.errors import WeightsUnavailableError
    from slavc_lite.localize import RANDOM_TITLE, Localizer

    ogl_weights = "auto" if args.ogl_weights is None else args.ogl_weights
    try:
        localizer = Localizer.from_weights(checkpoint=args.checkpoint, ogl_weights=ogl_weights,
                                           random_weights=args.random_weights, backbone=args.backbone,
                                           device=args.device)
    except WeightsUnavailableError as exc:
        if args.checkpoint is None and not args.random_weights:
            raise
        raise WeightsUnavailableError(
            f"{exc}\nOn the command line: give the OGL network's weights with --ogl-weights FILE, "
            "or run with --random-weights (untrained networks, results marked as not real)."
        ) from exc
    if localizer.random_weights:
        print(f"warning: {RANDOM_TITLE}", file=sys.stderr)
    return localizer


def _run_video(args: argparse.Namespace) -> int:
    """``--video``: localize the sampled frames, write localized.mp4, timeline.png, result.json."""
    from slavc_lite.maps import MAP_SIZE
    from slavc_lite.video_clip import read_clip_samplings
    from slavc_lite.video_localize import DISPLAY_SIDE, localize_video
    from slavc_lite.video_output import FILES, write_outputs

    if args.synchrony_smooth is not None and args.synchrony is None:
        return _usage_error("--synchrony-smooth goes with --synchrony")
    fps = VIDEO_FPS if args.fps is None else args.fps
    batch_size = VIDEO_BATCH_SIZE if args.batch_size is None else args.batch_size
    # The clip first: a bad file fails before any weights are loaded. With --synchrony the same
    # decoding pass also keeps every frame at the map's size.
    samplings = [(fps, DISPLAY_SIDE)]
    if args.synchrony is not None:
        samplings.append((None, (MAP_SIZE, MAP_SIZE)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip, *rest = read_clip_samplings(args.video, samplings)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    every = rest[0] if rest else None
    localizer = _localizer(args)
    result = localize_video(localizer, clip, alpha=args.alpha, batch_size=batch_size)
    shown = "vsl"
    if every is not None:
        from slavc_lite.video_localize import add_synchrony

        add_synchrony(result, every, args.synchrony, smooth=args.synchrony_smooth)
        shown = "vsl+sync"
    out = Path(args.out)
    write_outputs(result, out, map_name=shown)
    means = ", ".join(f"{name.upper()} {values.mean():.3f}" for name, values in result.confidences.items())
    print(f"localized {len(result)} frames of {args.video.name} ({clip.duration:.2f} s at {fps:g} "
          f"frames/s, alpha {result.alpha:g}); mean confidence {means}; wrote {', '.join(FILES.values())} "
          f"to {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Compute the maps and write the output files (still pair or ``--video``); the exit status."""
    from slavc_lite import __version__
    from slavc_lite.audio import load_spectrogram
    from slavc_lite.images import load_image_tensor
    from slavc_lite.viz import save_figure, save_heatmap_png, three_panel_figure

    if args.checkpoint is not None and args.random_weights:
        return _usage_error("give either --checkpoint or --random-weights, not both")
    if args.video is not None:
        if args.image is not None or args.audio is not None:
            return _usage_error("give either --video or --image and --audio, not both")
        return _run_video(args)
    if args.image is None or args.audio is None:
        return _usage_error("give --image and --audio (or --video CLIP)")
    video_only = (args.fps, args.batch_size, args.synchrony, args.synchrony_smooth)
    if any(option is not None for option in video_only):
        return _usage_error("--fps, --batch-size, --synchrony and --synchrony-smooth go with --video")
    # Inputs first: a wrong path fails in a second, before any weights are loaded.
    image = load_image_tensor(args.image)
    spectrogram = load_spectrogram(args.audio)
    localizer = _localizer(args)

    result = localizer.localize(image, spectrogram, alpha=args.alpha)
    titles = _titles(result, localizer, args.image, args.audio)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key in ("slavc", "ogl", "vsl"):
        save_heatmap_png(result.image, getattr(result, key), out / FILES[key], titles[key])
    fig = three_panel_figure(result.image, result.slavc, result.ogl, result.vsl, result.alpha,
                             title=titles["figure"], confidences=result.confidences)
    save_figure(fig, out / FILES["figure"], title=titles["figure"])

    record = {
        "slavc_lite_version": __version__,
        "alpha": result.alpha,
        "confidences": result.confidences,
        "weights": localizer.weights_description,
        "random_weights": localizer.random_weights,
        "inputs": {"image": os.fspath(args.image), "audio": os.fspath(args.audio)},
        "device": str(localizer.device),
        "backbone": localizer.model.backbone,
        "maps": "fixed scale [0, 1]: SLAVC (cos + 1) / 2 of the two heads' mean, OGL mean |o| / 2.5, "
        "VSL alpha * SLAVC + (1 - alpha) * OGL",
        "files": {k: v for k, v in FILES.items() if k != "result"},
        "titles": titles,
    }
    # Written last: its presence means every figure is there.
    (out / FILES["result"]).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    conf = result.confidences
    print(f"confidence: SLAVC {conf['slavc']:.3f}, OGL {conf['ogl']:.3f}, VSL {conf['vsl']:.3f} "
          f"(alpha {result.alpha:g}); wrote {', '.join(FILES.values())} to {out}")
    return 0
