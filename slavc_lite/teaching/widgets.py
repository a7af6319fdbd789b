"""Interactive explorers of the localization maps (notebooks 07 and 08), logic apart from the widgets.

The logic is plain Python, works without ipywidgets and is unit-tested:

* :class:`AlphaBlender`: the alpha slider's model. The networks run once
  (:meth:`slavc_lite.localize.Localizer.localize`); every new alpha re-blends
  ``VSL = alpha * SLAVC + (1 - alpha) * OGL`` (review Eq. 7) from the cached SLAVC and OGL maps
  (:meth:`slavc_lite.localize.LocalizationResult.with_alpha`), a millisecond or two on a CPU
  (the blend and the confidence of one 224 x 224 map); the slider's figure re-draws only its
  VSL panel (:class:`slavc_lite.teaching.slider_figure.SliderFigure`).
* :class:`Pair`, :func:`example_pairs`, :func:`toy_pairs`: the image-audio pairs to explore,
  with the boxes of their sounding objects (the ground truth) and of visible silent objects.
* :func:`uploaded_files`, :func:`save_upload`, :func:`pair_from_uploads`: uploaded bytes ->
  files -> checked by slavc_lite's own loaders, whose :class:`~slavc_lite.errors.InputFileError`
  names the file and the problem. On Colab, where ``FileUpload`` loses files of 1 MB or more,
  :func:`colab_upload` (Colab's own dialog) and :func:`pair_from_paths` (files on the machine).
* :class:`PairExplorer`: localizes each pair once, re-blends for any alpha, draws the review's
  row input | SLAVC | OGL | VSL with the boxes (:func:`slavc_lite.teaching.figures.case_rows_figure`).

The views are thin ipywidgets layers over that logic: :func:`alpha_slider` (a slider and the
re-blended figure) and :func:`pair_explorer` (example picker, file upload, alpha slider, audio
player). They use only API that ipywidgets 7 (which Colab has shipped) and 8 share, and read
the upload values of both (:func:`uploaded_files`). Without ipywidgets they raise
:class:`WidgetsUnavailableError`, whose message says what to install. Where no front end is
connected (a notebook executed by nbclient or nbconvert, a static HTML page) displaying a widget
shows a text placeholder and nothing fails; the chapters draw the same figures statically too.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from slavc_lite.atomic_files import atomic_write_bytes
from slavc_lite.errors import InputFileError, SlavcLiteError
from slavc_lite.localize import LocalizationResult, Localizer
from slavc_lite.maps import DEFAULT_ALPHA
from slavc_lite.teaching.figures import CaseRow, case_rows_figure
from slavc_lite.teaching.slider_figure import SliderFigure

__all__ = [
    "KIND_LABELS",
    "AlphaBlender",
    "AlphaSliderView",
    "Pair",
    "PairExplorer",
    "PairExplorerView",
    "WidgetsUnavailableError",
    "alpha_slider",
    "colab_upload",
    "example_pairs",
    "figure_png",
    "pair_explorer",
    "pair_from_paths",
    "pair_from_uploads",
    "save_upload",
    "toy_pairs",
    "uploaded_files",
    "widget_bundle",
]

KIND_LABELS = {
    "single": "easy case", "mixture": "mixture", "small": "small object", "silent": "silent object",
    "offscreen": "off-screen sound", "same_type": "same-type instances", "silence": "silence",
    "noise": "noise",
}
"""How the toy world's scene kinds are named in figures (the review's hard cases)."""

PREVIEW_DPI = 72
"""Resolution of the figures the widgets show (small PNGs re-render quickly)."""


class WidgetsUnavailableError(SlavcLiteError, ImportError):
    """ipywidgets is not installed, so the interactive views cannot be built."""


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as exc:
        raise WidgetsUnavailableError(
            "ipywidgets is not installed, so the interactive view cannot be shown: install it with "
            "`pip install ipywidgets` (or the package's 'notebooks' extra) and restart the kernel. "
            "The static figures of this chapter show the same maps."
        ) from exc
    if _major_version(ipywidgets) >= 8:
        try:  # Colab renders ipywidgets 8 through its custom widget manager, which must be switched on;
            from google.colab import output  # its own ipywidgets 7 needs nothing
        except ImportError:
            pass
        else:
            output.enable_custom_widget_manager()
    return ipywidgets


def _major_version(module: Any) -> int:
    """The major version of a module from its ``__version__`` (0 where it has none)."""
    match = re.match(r"\d+", str(getattr(module, "__version__", "")))
    return int(match.group()) if match else 0


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    return alpha


def figure_png(fig: Figure, dpi: int = PREVIEW_DPI) -> bytes:
    """The PNG bytes of a figure (what an ``ipywidgets.Image`` shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
"""The output type that front ends with a widget manager (JupyterLab, Colab) render as the widget."""


def widget_bundle(widget: Any, text: str) -> dict[str, Any]:
    """The display data of ``widget`` with ``text`` as its plain-text form.

    A live front end renders the widget; a static viewer of the saved notebook (GitHub,
    nbviewer, nbconvert's HTML), which has no widget state, shows ``text`` instead of the
    widget's default ``VBox(children=(...))``.
    """
    if hasattr(widget, "_repr_mimebundle_"):  # ipywidgets 8
        bundle = dict(widget._repr_mimebundle_() or {})
    else:  # ipywidgets 7 displays itself through _ipython_display_ with this bundle
        bundle = {WIDGET_VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}
    bundle["text/plain"] = text
    return bundle


class _Displayable:
    """A view that ``display(view)`` shows as its widget, with :meth:`static_text` for static viewers."""

    widget: Any

    def static_text(self) -> str:  # pragma: no cover - every view defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return widget_bundle(self.widget, self.static_text())


# ------------------------------------------------------------------------------------ alpha


class AlphaBlender:
    """The alpha slider's logic: VSL re-blended from cached maps, networks never re-run.

    Args:
        result: the maps of one pair (:meth:`Localizer.localize`), computed once.
        label: the row label of the figure.
        boxes, silent_boxes: normalised boxes of the sounding objects (cIoU is measured
            against them) and of visible silent objects (drawn dashed).
        title: the figure title (say which weights made the maps).

    Attributes:
        current: the result at the last alpha (:meth:`blend`).
        blends: how many times VSL was re-blended.
    """

    def __init__(self, result: LocalizationResult, label: str = "", boxes: Sequence = (),
                 silent_boxes: Sequence = (), title: str | None = None) -> None:
        self.result = result
        self.label = label
        self.boxes = [list(b) for b in boxes]
        self.silent_boxes = [list(b) for b in silent_boxes]
        self.title = title
        self.current = result
        self.blends = 0

    @classmethod
    def from_localizer(cls, localizer: Localizer, image, audio, alpha: float = DEFAULT_ALPHA,
                       **kwargs: Any) -> AlphaBlender:
        """Run the networks once on ``image`` and ``audio`` (files, PIL image, tensors)."""
        return cls(localizer.localize(image, audio, alpha=_check_alpha(alpha)), **kwargs)

    @property
    def alpha(self) -> float:
        return self.current.alpha

    def blend(self, alpha: float) -> LocalizationResult:
        """The result for ``alpha``: VSL (and its confidence) re-blended from the cached maps (Eq. 7)."""
        self.current = self.result.with_alpha(_check_alpha(alpha))
        self.blends += 1
        return self.current

    def row(self, alpha: float | None = None) -> CaseRow:
        """The figure row at ``alpha`` (default: the current one), with cIoU against the boxes."""
        result = self.current if alpha is None else self.blend(alpha)
        return CaseRow.from_result(result, self.label, self.boxes, self.silent_boxes)

    def figure(self, alpha: float | None = None) -> Figure:
        """input | SLAVC | OGL | VSL(alpha) with the boxes
        (:func:`slavc_lite.teaching.figures.case_rows_figure`)."""
        return case_rows_figure([self.row(alpha)], title=self.title)

    def png(self, alpha: float | None = None) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return figure_png(self.figure(alpha))


class AlphaSliderView(_Displayable):
    """An alpha slider over an :class:`AlphaBlender`: moving it re-blends and redraws the VSL panel.

    The figure is :meth:`AlphaBlender.figure`'s picture, kept by a
    :class:`~slavc_lite.teaching.slider_figure.SliderFigure` that re-draws only its VSL panel for a new
    alpha (tens of milliseconds on a laptop CPU instead of a whole new figure).

    ``widget`` (a ``VBox``) is what to display; ``slider`` and ``image`` are its parts.
    """

    def __init__(self, blender: AlphaBlender, step: float = 0.05, continuous_update: bool = False) -> None:
        w = _ipywidgets()
        self.blender = blender
        self.slider = w.FloatSlider(value=blender.alpha, min=0.0, max=1.0, step=step, description="alpha",
                                    continuous_update=continuous_update, readout_format=".2f")
        self.figure = SliderFigure(blender, dpi=PREVIEW_DPI)  # re-draws only the VSL panel
        self.image = w.Image(value=self.figure.png(), format="png")
        self.caption = w.HTML(self._caption())
        self.slider.observe(self._on_alpha, names="value")
        self.widget = w.VBox([self.slider, self.caption, self.image])

    def _caption(self) -> str:
        c = self.blender.current.confidences
        return (f"VSL = {self.blender.alpha:.2f} &middot; SLAVC + {1 - self.blender.alpha:.2f} &middot; OGL "
                f"(Eq. 7), re-blended from cached maps; confidence {c['vsl']:.3f}")

    def _on_alpha(self, change: dict) -> None:
        self.image.value = self.figure.png(change["new"])
        self.caption.value = self._caption()

    def static_text(self) -> str:
        """What a reader of the saved notebook sees in place of the slider."""
        b = self.blender
        where = f" for {b.label}" if b.label else ""
        return (f"[Interactive alpha slider{where}: moving it re-blends "
                "VSL = alpha * SLAVC + (1 - alpha) * OGL (Eq. 7) and redraws the figure "
                "input | SLAVC | OGL | VSL. It needs a running Jupyter kernel; when this notebook was run "
                f"it showed alpha = {b.alpha:.2f}, VSL confidence {b.current.confidences['vsl']:.3f}.]")


def alpha_slider(blender: AlphaBlender, step: float = 0.05,
                 continuous_update: bool = False) -> AlphaSliderView:
    """The interactive alpha view: ``display(alpha_slider(blender))`` (or its ``.widget``).

    Displayed itself, a static viewer of the saved notebook shows :meth:`AlphaSliderView.static_text`.

    Raises:
        WidgetsUnavailableError: ipywidgets is not installed (the message says what to do).
    """
    return AlphaSliderView(blender, step=step, continuous_update=continuous_update)


# ------------------------------------------------------------------------------------ pairs


@dataclass
class Pair:
    """An image-audio pair to explore.

    Attributes:
        label: its name in the picker and the figure.
        image, audio: the files (any format the loaders read).
        boxes: normalised boxes of the visible sounding objects (ground truth; may be empty).
        silent_boxes: normalised boxes of visible objects that make no sound.
        kind: the toy scene kind, if any (``"silent"``, ``"offscreen"``, ...).
        note: what is seen and heard, in words.
    """

    label: str
    image: Path
    audio: Path
    boxes: list = field(default_factory=list)
    silent_boxes: list = field(default_factory=list)
    kind: str | None = None
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (os.fspath(self.image), os.fspath(self.audio))


def example_pairs(folder: str | os.PathLike | None = None) -> list[Pair]:
    """The shipped examples (``assets/examples``: ``<name>.jpg`` + ``<name>.wav``, ``boxes.json``).

    ``folder`` defaults to ``assets/examples`` of the clone; outside a clone (e.g. a pip install
    on Colab) there are none and the list is empty.
    """
    if folder is None:
        from slavc_lite.teaching.tutorial import project_root

        root = project_root()
        if root is None:
            return []
        folder = root / "assets" / "examples"
    folder = Path(folder)
    boxes_file = folder / "boxes.json"
    if not boxes_file.is_file():
        return []
    try:
        boxes = json.loads(boxes_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputFileError(boxes_file, f"not valid JSON ({exc})") from exc
    pairs = []
    for name in sorted(boxes):
        image, audio = folder / f"{name}.jpg", folder / f"{name}.wav"
        if image.is_file() and audio.is_file():
            entry = boxes[name]
            pairs.append(Pair(label=f"example: {name.replace('_', ' ')}", image=image, audio=audio,
                              boxes=entry.get("sounding", []), silent_boxes=entry.get("silent", [])))
    return pairs


def _read_scenes(test_dir: Path) -> list[dict[str, str]]:
    path = test_dir / "scenes.csv"
    if not path.is_file():
        raise InputFileError(path, "not found: the toy world's test/scenes.csv lists each pair's kind "
                             "(write a toy world with tutorial.toy_world() or `slavc-lite data toy`)")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def toy_pairs(world: str | os.PathLike, kinds: Sequence[str] | None = None, per_kind: int = 1) -> list[Pair]:
    """The first ``per_kind`` test pairs of each kind of a toy world on disk, with their boxes.

    Sounding boxes come from ``test/toy.json``; the boxes of the visible objects that make no
    sound (the silent object of a ``silent`` scene, silent distractors, the objects of
    non-sounding scenes) from the scene itself, regenerated exactly from the world's seed
    (``toy_world.json``).
    """
    from slavc_lite.data.toy import KINDS, ToyWorld

    world = Path(world)
    test_dir = world / "test"
    manifest_path = world / "toy_world.json"
    if not manifest_path.is_file():
        raise InputFileError(manifest_path, "not found: not a complete toy world folder")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    generator = ToyWorld(manifest["seed"], manifest["image_size"], manifest["sample_rate"],
                         manifest["duration"])
    kinds = list(KINDS if kinds is None else kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown scene kinds {unknown}; known: {', '.join(KINDS)}")
    chosen: dict[str, list[dict[str, str]]] = {k: [] for k in kinds}
    for row in _read_scenes(test_dir):
        if row["kind"] in chosen and len(chosen[row["kind"]]) < per_kind:
            chosen[row["kind"]].append(row)
    pairs = []
    for kind in kinds:
        for row in chosen[kind]:
            scene = generator.split_scene("test", int(row["id"].rsplit("_", 1)[1]), kind)
            heard = ", ".join(scene.audio_classes) or ("near silence" if kind == "silence" else "noise")
            note = f"heard: {heard}; seen: {', '.join(scene.visible_classes)}"
            pairs.append(Pair(
                label=f"{KIND_LABELS[kind]} ({row['id']})",
                image=test_dir / "frames" / f"{row['id']}.jpg", audio=test_dir / "audio" / f"{row['id']}.wav",
                boxes=[list(b) for b in scene.boxes],
                silent_boxes=[list(o.box) for o in scene.objects if o.role != "sounding"],
                kind=kind, note=note))
    return pairs


# ------------------------------------------------------------------------------------ uploads


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of an ``ipywidgets.FileUpload`` value.

    ipywidgets 8 gives a tuple of dicts with ``name`` and ``content`` (a memoryview);
    ipywidgets 7 a dict ``{name: {"content": bytes, ...}}``. Both are accepted.
    """
    if not value:
        return []
    if isinstance(value, dict):
        return [(str(name), bytes(item["content"])) for name, item in value.items()]
    return [(str(item["name"]), bytes(item["content"])) for item in value]


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")
    return base or "upload"


def save_upload(name: str, content: bytes, folder: str | os.PathLike) -> Path:
    """Write uploaded bytes to ``folder/<name>`` (directory parts and odd characters removed).

    The file is written atomically (:mod:`slavc_lite.atomic_files`), so a failure never leaves
    half a file under the final name.
    """
    return atomic_write_bytes(Path(folder) / _safe_name(name), content)


def pair_from_uploads(image_value: Any, audio_value: Any, folder: str | os.PathLike,
                      label: str | None = None) -> Pair:
    """A :class:`Pair` from the values of an image and an audio ``FileUpload``.

    The bytes are saved under their own names in ``folder`` and read once with
    :func:`slavc_lite.images.load_image` and :func:`slavc_lite.audio.load_audio`, so a bad file
    fails here with their :class:`~slavc_lite.errors.InputFileError` (file name and problem).

    Raises:
        ValueError: an image or an audio file is missing from the uploads.
        InputFileError: a file that the loaders cannot read.
    """
    from slavc_lite.audio import load_audio
    from slavc_lite.images import load_image

    images, sounds = uploaded_files(image_value), uploaded_files(audio_value)
    if not images or not sounds:
        missing = " and ".join(w for w, f in (("an image", images), ("an audio file", sounds)) if not f)
        raise ValueError(f"upload {missing} first (the uploaded pair needs both)")
    folder = Path(folder)
    image = save_upload(*images[0], folder / "image")
    audio = save_upload(*sounds[0], folder / "audio")
    load_image(image)
    load_audio(audio)
    return Pair(label=label or f"upload: {image.name} + {audio.name}", image=image, audio=audio,
                note="your upload (no ground-truth boxes)")


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
"""File name endings taken for the image of an uploaded pair (anything else is the sound)."""


def colab_upload(folder: str | os.PathLike) -> list[Path]:
    """Files picked in Colab's own upload dialog (``google.colab.files.upload()``), saved in ``folder``.

    ipywidgets' ``FileUpload`` loses files of 1 MB or more on Colab; Colab's dialog does not.
    Returns the saved paths (names kept, folders and odd characters removed, :func:`save_upload`).
    """
    from google.colab import files

    return [save_upload(name, bytes(content), folder) for name, content in files.upload().items()]


def pair_from_paths(image: str | os.PathLike, audio: str | os.PathLike, label: str | None = None) -> Pair:
    """A :class:`Pair` from two files on this machine, read once with slavc_lite's loaders.

    Raises:
        ValueError: a path is empty.
        InputFileError: a file that is missing or that the loaders cannot read (named).
    """
    from slavc_lite.audio import load_audio
    from slavc_lite.images import load_image

    given = (("an image", image), ("a sound", audio))
    missing = " and ".join(what for what, path in given if not str(path).strip())
    if missing:
        raise ValueError(f"give the path of {missing} first (the pair needs both)")
    image, audio = Path(str(image).strip()).expanduser(), Path(str(audio).strip()).expanduser()
    load_image(image)
    load_audio(audio)
    return Pair(label=label or f"upload: {image.name} + {audio.name}", image=image, audio=audio,
                note="your files (no ground-truth boxes)")


# ------------------------------------------------------------------------------------ explorer


class PairExplorer:
    """Localize pairs once each and show them at any alpha (the hard-case explorer's logic).

    Args:
        localizer: the networks (:meth:`Localizer.from_weights`).
        pairs: the pairs to offer (:func:`example_pairs`, :func:`toy_pairs`, uploads).
        alpha: the starting VSL weight (IPOL demo: 0.4).
        title: figure title (say which weights made the maps).

    Attributes:
        localized: how many times the networks ran (once per distinct pair).
    """

    def __init__(self, localizer: Localizer, pairs: Sequence[Pair], alpha: float = DEFAULT_ALPHA,
                 title: str | None = None) -> None:
        self.localizer = localizer
        self.pairs: dict[str, Pair] = {}
        for pair in pairs:
            self.add(pair)
        self.alpha = _check_alpha(alpha)
        self.title = title
        self.localized = 0
        self._cache: dict[tuple[str, str], LocalizationResult] = {}

    @property
    def labels(self) -> list[str]:
        return list(self.pairs)

    def add(self, pair: Pair) -> Pair:
        """Offer ``pair`` (a pair with the same label is replaced)."""
        self.pairs[pair.label] = pair
        return pair

    def pair(self, label: str) -> Pair:
        if label not in self.pairs:
            raise KeyError(f"no pair {label!r}; available: {self.labels}")
        return self.pairs[label]

    def result(self, label: str, alpha: float | None = None) -> LocalizationResult:
        """The maps of pair ``label`` at ``alpha`` (networks run on first use only)."""
        pair = self.pair(label)
        alpha = self.alpha if alpha is None else _check_alpha(alpha)
        if pair.key not in self._cache:
            self._cache[pair.key] = self.localizer.localize(pair.image, pair.audio, alpha=alpha)
            self.localized += 1
        return self._cache[pair.key].with_alpha(alpha)

    def row(self, label: str, alpha: float | None = None) -> CaseRow:
        pair = self.pair(label)
        return CaseRow.from_result(self.result(label, alpha), pair.label, pair.boxes, pair.silent_boxes)

    def figure(self, label: str, alpha: float | None = None) -> Figure:
        """input | SLAVC | OGL | VSL(alpha) of one pair, with its boxes and per-map cIoU."""
        return case_rows_figure([self.row(label, alpha)], title=self.title)


class PairExplorerView(_Displayable):
    """The hard-case explorer's widgets: example picker, file upload, alpha slider, audio player.

    ``widget`` (a ``VBox``) is what to display. Errors (a file the loaders cannot read, a
    missing upload) are shown in ``status`` instead of raising in the callback.

    Uploads: ipywidgets' ``FileUpload`` buttons, except on Colab, where ``FileUpload`` loses
    files of 1 MB or more. There the view has two path boxes (a file on the Colab machine: one
    dragged into Colab's file browser, or on a mounted Drive) and a button that opens Colab's
    own upload dialog (:func:`colab_upload`) and fills the boxes with the uploaded files.
    ``colab`` forces one way or the other (default: :func:`slavc_lite.teaching.tutorial.on_colab`).
    """

    def __init__(self, explorer: PairExplorer, upload_dir: str | os.PathLike | None = None,
                 colab: bool | None = None) -> None:
        from slavc_lite.teaching.tutorial import on_colab

        w = _ipywidgets()
        self.explorer = explorer
        self.upload_dir = Path(upload_dir) if upload_dir is not None else Path(
            tempfile.mkdtemp(prefix="slavc-lite-upload-"))
        self.colab = on_colab() if colab is None else bool(colab)
        self.picker = w.Dropdown(options=explorer.labels, description="pair",
                                 layout=w.Layout(width="560px"))
        self.alpha = w.FloatSlider(value=explorer.alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                   continuous_update=False, readout_format=".2f")
        if self.colab:
            self.image_path = w.Text(description="image", placeholder="/content/scene.jpg")
            self.audio_path = w.Text(description="sound", placeholder="/content/clip.wav")
            self.colab_button = w.Button(description="upload (Colab dialog)", icon="upload")
            self.colab_button.on_click(lambda button: self.upload_with_colab())
            upload_row = [self.image_path, self.audio_path, self.colab_button]
        else:
            self.image_upload = w.FileUpload(accept="image/*", multiple=False, description="image")
            self.audio_upload = w.FileUpload(accept="audio/*,video/*", multiple=False, description="audio")
            upload_row = [self.image_upload, self.audio_upload]
        self.use_upload = w.Button(description="localize my pair", icon="upload")
        self.status = w.HTML()
        self.note = w.HTML()
        self.figure = w.Image(format="png")
        self.player = w.Audio(autoplay=False, loop=False)
        self._updating = False
        self.picker.observe(lambda change: None if self._updating else self.show(), names="value")
        self.alpha.observe(lambda change: self.redraw(), names="value")
        self._figures: dict[tuple[str, str], SliderFigure] = {}  # per pair: alpha re-draws its VSL panel
        self.use_upload.on_click(lambda button: self.localize_uploads())
        self.widget = w.VBox([
            w.HBox([self.picker, self.alpha]),
            w.HBox([*upload_row, self.use_upload]),
            self.status, self.note, self.figure, self.player,
        ])
        if explorer.labels:
            self.show()

    def static_text(self) -> str:
        """What a reader of the saved notebook sees in place of the explorer."""
        n = len(self.explorer.labels)
        return (f"[Interactive hard-case explorer: pick one of {n} image-sound pairs, or upload your own "
                "image and sound, move alpha, and see input | SLAVC | OGL | VSL with the boxes and per-map "
                "cIoU, and hear the sound. It needs a running Jupyter kernel; the figures above show the "
                "same maps.]")

    def _error(self, exc: Exception) -> None:
        self.status.value = f"<b style='color:#b00'>{html.escape(str(exc))}</b>"

    def redraw(self) -> bool:
        """Draw the picked pair at the slider's alpha (the explorer's figure); False on an error.

        Each pair's figure is drawn once (:class:`~slavc_lite.teaching.slider_figure.SliderFigure`); a
        new alpha re-draws only its VSL panel.
        """
        label = self.picker.value
        if label is None:
            return False
        try:
            pair = self.explorer.pair(label)
            figure = self._figures.get(pair.key)
            if figure is None:
                result = self.explorer.result(label, self.alpha.value)
                blender = AlphaBlender(result, pair.label, pair.boxes, pair.silent_boxes,
                                       title=self.explorer.title)
                figure = self._figures[pair.key] = SliderFigure(blender, dpi=PREVIEW_DPI)
                self.figure.value = figure.png()
            else:
                self.figure.value = figure.png(self.alpha.value)
        except (SlavcLiteError, ValueError) as exc:
            self._error(exc)
            return False
        return True

    def show(self) -> None:
        """Draw the picked pair at the slider's alpha and load its sound into the player."""
        if not self.redraw():
            return
        pair = self.explorer.pair(self.picker.value)
        self.note.value = html.escape(pair.note)
        self.player.format = pair.audio.suffix.lstrip(".").lower() or "wav"
        self.player.value = pair.audio.read_bytes()
        self.status.value = ""

    def upload_with_colab(self) -> list[Path]:
        """Colab's upload dialog; the uploaded image and sound fill the path boxes (Colab only)."""
        folder = Path(tempfile.mkdtemp(dir=self.upload_dir))
        try:
            saved = colab_upload(folder)
        except (ImportError, OSError) as exc:
            self._error(exc)
            return []
        for path in saved:
            box = self.image_path if path.suffix.lower() in IMAGE_SUFFIXES else self.audio_path
            box.value = str(path)
        self.status.value = html.escape(f"uploaded {', '.join(p.name for p in saved) or 'nothing'}")
        return saved

    def localize_uploads(self) -> Pair | None:
        """Check the uploaded (or, on Colab, named) image and sound, add the pair and show it."""
        try:
            if self.colab:
                pair = pair_from_paths(self.image_path.value, self.audio_path.value)
            else:
                folder = Path(tempfile.mkdtemp(dir=self.upload_dir))  # a fresh folder: no stale cached maps
                pair = pair_from_uploads(self.image_upload.value, self.audio_upload.value, folder)
        except (SlavcLiteError, ValueError) as exc:
            self._error(exc)
            return None
        self.explorer.add(pair)
        self._updating = True
        try:
            self.picker.options = self.explorer.labels
            self.picker.value = pair.label
        finally:
            self._updating = False
        self.show()
        return pair


def pair_explorer(explorer: PairExplorer, upload_dir: str | os.PathLike | None = None,
                  colab: bool | None = None) -> PairExplorerView:
    """The interactive hard-case view: ``display(pair_explorer(explorer))`` (or its ``.widget``).

    Displayed itself, a static viewer of the saved notebook shows :meth:`PairExplorerView.static_text`.

    Raises:
        WidgetsUnavailableError: ipywidgets is not installed (the message says what to do).
    """
    return PairExplorerView(explorer, upload_dir=upload_dir, colab=colab)
