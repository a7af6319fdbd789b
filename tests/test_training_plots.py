"""Live training curves: what the history keeps, when the callback redraws, what the figure shows."""

import json
import math

import pytest

from slavc_lite.teaching.training_plots import (
    VALIDATION_METRICS,
    CurveHistory,
    LiveCurves,
    curves_figure,
    figure_png,
    table_records,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def table(value):
    row = {"n": 10, "cIoU": value, "AUC": value, "AP": value / 2, "max-F1": value, "Precision": value}
    return {"all": dict(row), "visible": dict(row, n=8, Precision=value + 0.1)}


def records(n_epochs=2, steps_per_epoch=4, resumed_from=None):
    out = [{"event": "pretrain", "epoch": 1, "loss": 2.0, "held_out_accuracy": 0.5},
           {"event": "start", "step": 0, "steps_per_epoch": steps_per_epoch,
            "resumed_from_step": resumed_from},
           {"event": "validation", "epoch": 0, "step": 0, "score": 0.1, "table": table(0.1)}]
    step = 0
    for epoch in range(n_epochs):
        for _ in range(steps_per_epoch):
            step += 1
            out.append({"event": "step", "step": step, "epoch": step / steps_per_epoch,
                        "loss": 5.0 - step / 10, "lr": 1e-4, "samples_per_s": 40.0})
        out.append({"event": "epoch", "step": step, "epoch": epoch + 1, "loss": 4.0})
        out.append({"event": "validation", "epoch": epoch + 1, "step": step,
                    "table": table(0.2 + epoch / 10)})
        out.append({"event": "checkpoint", "step": step, "files": ["latest.pth"]})
    out.append({"event": "end", "step": step, "summary": {"steps": step}})
    return out


def test_history_keeps_steps_validations_pretraining_and_summary():
    history = CurveHistory.from_records(records())
    assert [s["step"] for s in history.steps] == list(range(1, 9))
    assert [v["step"] for v in history.validations] == [0, 4, 8]
    assert history.validations[1]["cIoU"] == pytest.approx(0.2)
    assert history.validations[1]["AP"] == pytest.approx(0.1)
    assert history.validations[1]["Precision"] == pytest.approx(0.3)  # the visible subset's
    assert history.pretrain[0]["held_out_accuracy"] == 0.5
    assert history.steps_per_epoch == 4
    assert history.summary == {"steps": 8}
    long = history.validation_data()
    assert len(long["step"]) == 3 * len(VALIDATION_METRICS)
    assert set(long["metric"]) == set(VALIDATION_METRICS)


def test_history_skips_nan_and_missing_values():
    history = CurveHistory()
    history.add({"event": "step", "step": 1, "loss": None})
    history.add({"event": "step", "step": 2, "loss": float("nan")})
    history.add({"event": "step", "step": 3, "loss": 4.5})
    history.add({"event": "validation", "step": 3, "table": {"all": {"cIoU": 0.3}}})
    assert history.loss_data() == {"step": [3], "loss": [4.5]}
    assert history.validation_data() == {"step": [3], "metric": ["cIoU"], "value": [0.3]}
    assert not history.add({"event": "checkpoint", "step": 3})


def test_a_resumed_run_drops_what_the_interrupted_attempt_logged_after_its_checkpoint():
    history = CurveHistory.from_records(records()[:-1])  # killed before the end, after step 8
    history.add({"event": "start", "step": 4, "steps_per_epoch": 4, "resumed_from_step": 4})
    assert [s["step"] for s in history.steps] == [1, 2, 3, 4]
    assert [v["step"] for v in history.validations] == [0, 4]


def test_from_run_reads_metrics_jsonl(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records()))
    history = CurveHistory.from_run(tmp_path)
    assert len(history.steps) == 8 and len(history.validations) == 3


def test_figure_has_a_loss_panel_and_a_validation_panel_with_epoch_marks():
    fig = curves_figure(CurveHistory.from_records(records()), title="toy")
    loss_ax, val_ax = fig.axes[:2]
    assert loss_ax.get_title() == "training loss" and val_ax.get_title() == "validation"
    loss_line = loss_ax.get_lines()[0]
    assert list(loss_line.get_xdata()) == list(range(1, 9))
    labels = [t.get_text() for t in val_ax.get_legend().get_texts()]
    assert labels == list(VALIDATION_METRICS)
    epoch_marks = [line for line in loss_ax.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in epoch_marks] == [4, 8]
    assert fig._suptitle.get_text() == "toy"
    assert figure_png(fig).startswith(PNG_MAGIC)


def test_empty_history_draws_placeholders():
    fig = curves_figure(CurveHistory())
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no loss logged yet" in texts and "no validation yet" in texts
    assert figure_png(fig).startswith(PNG_MAGIC)


def test_pretraining_progress_is_shown_before_the_first_loss():
    history = CurveHistory.from_records(records()[:1])
    texts = [t.get_text() for ax in curves_figure(history).axes for t in ax.texts]
    assert any("object pretraining: epoch 1 done, held-out accuracy 0.500" in t for t in texts)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_live_curves_throttle_step_records_but_always_draw_validation_and_end():
    shown, clock = [], Clock()
    curves = LiveCurves(title="t", min_interval=10.0, show=shown.append, clock=clock)
    curves({"event": "start", "step": 0, "steps_per_epoch": 4})
    assert curves.draws == 1
    for step in range(1, 4):  # within 10 s of the last draw: no redraw
        clock.now += 1.0
        curves({"event": "step", "step": step, "loss": 3.0, "samples_per_s": 10.0})
    assert curves.draws == 1
    clock.now += 10.0
    curves({"event": "step", "step": 4, "loss": 2.9, "samples_per_s": 10.0})
    assert curves.draws == 2
    clock.now += 0.5
    curves({"event": "validation", "step": 4, "table": table(0.3)})
    assert curves.draws == 3
    curves({"event": "checkpoint", "step": 4})  # not a curve: nothing to draw
    assert curves.draws == 3
    curves({"event": "end", "step": 4, "summary": {}})
    assert curves.draws == 4
    assert all(png.startswith(PNG_MAGIC) for png in shown) and len(shown) == 4


def test_live_curves_draw_every_record_with_no_interval():
    shown = []
    curves = LiveCurves(min_interval=0.0, show=shown.append, clock=Clock())
    for record in records(n_epochs=1):
        curves(record)
    assert curves.draws == len(shown) == 9  # every record but epoch and checkpoint


def test_live_curves_continue_a_history():
    history = CurveHistory.from_records(records(n_epochs=1))
    curves = LiveCurves(history=history, show=lambda png: None, clock=Clock())
    curves({"event": "step", "step": 5, "loss": 1.0, "samples_per_s": 1.0})
    assert [s["step"] for s in curves.history.steps] == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="min_interval"):
        LiveCurves(min_interval=-1)


def test_table_records():
    rows = table_records(table(0.4), ["visible", "all"])
    assert [r["subset"] for r in rows] == ["visible", "all"]
    assert rows[0]["n"] == 8 and isinstance(rows[0]["n"], int)
    assert rows[1]["AP"] == pytest.approx(0.2)
    rows = table_records({"all": {"n": 0, "cIoU": float("nan")}})
    assert math.isnan(rows[0]["cIoU"]) and math.isnan(rows[0]["AP"])
    with pytest.raises(KeyError, match="huge"):
        table_records(table(0.4), ["huge"])
