"""The teaching wing: what serves the notebooks and the main job, apart from the method.

The method itself (encoders, model, losses, maps, metrics, momentum, ground truth, weights) and
its inputs and outputs live at the package root; nothing there imports from here. This wing
holds what only the chapters and ``make run`` need:

* :mod:`~slavc_lite.teaching.tutorial`: what every notebook shares (the setup cell, quick mode,
  the toy world and toy run at hand, the best weights at hand, figure files);
* :mod:`~slavc_lite.teaching.figures`, :mod:`~slavc_lite.teaching.slider_figure`: the review's
  figure layouts, and the alpha slider's fast re-drawing;
* :mod:`~slavc_lite.teaching.widgets`: the interactive views (alpha slider, hard-case explorer);
* :mod:`~slavc_lite.teaching.training_plots`: live training curves;
* :mod:`~slavc_lite.teaching.exercises`: the exercises' check functions;
* :mod:`~slavc_lite.teaching.student`: the student edition (solutions stripped);
* :mod:`~slavc_lite.teaching.notebook_runner`, :mod:`~slavc_lite.teaching.run_all`: executing
  the chapters, and ``make run``.
"""
