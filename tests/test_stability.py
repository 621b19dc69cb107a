"""Training-stability diagnostics pinned on constructed histories whose answers are known."""
import math

import numpy as np
import pandas as pd
import pytest

from ganbench.stability import seed_failure_rates, stability_summary


def history(n=8, **cols):
    """n rows every 10 steps; defaults are calm, finite values; cols override."""
    base = {
        "step": np.arange(n) * 10,
        "d_loss": np.full(n, 1.3),
        "g_loss": np.full(n, 0.7),
        "d_real": np.full(n, 0.5),
        "d_fake": np.full(n, -0.5),
        "d_grad_norm": np.arange(1.0, n + 1),
        "g_grad_norm": np.full(n, 2.0),
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_calm_history():
    s = stability_summary(history(), "complete")
    assert s == {
        "diverged": False,
        "d_grad_norm_median": 4.5,  # median of 1..8
        "d_grad_norm_max": 8.0,
        "g_grad_norm_median": 2.0,
        "g_grad_norm_max": 2.0,
        "g_loss_oscillation": 0.0,  # constant G loss
        "d_acc_real": 1.0,  # d_real > 0 in every tail row
        "d_acc_fake": 1.0,
    }
    assert all(isinstance(v, float) for k, v in s.items() if k != "diverged")


def test_diverged_from_status_or_from_a_non_finite_loss():
    assert stability_summary(history(), "diverged")["diverged"] is True
    g = np.full(8, 0.7)
    g[5] = np.inf
    assert stability_summary(history(g_loss=g), "complete")["diverged"] is True
    d = np.full(8, 1.3)
    d[2] = np.nan
    assert stability_summary(history(d_loss=d), "complete")["diverged"] is True


def test_g_loss_oscillation_uses_first_differences_over_the_tail():
    # 8 rows, tail 0.5 -> last 4 rows: 1, -1, 1, -1 -> differences -2, 2, -2 -> mean -2/3
    g = np.array([50.0, 0.0, -50.0, 9.0, 1.0, -1.0, 1.0, -1.0])
    got = stability_summary(history(g_loss=g), "complete", tail=0.5)["g_loss_oscillation"]
    assert got == pytest.approx(np.std([-2.0, 2.0, -2.0]), rel=1e-15)
    assert got == pytest.approx(math.sqrt(32 / 9), rel=1e-12)  # deviations 4/3, 8/3, 4/3
    # a steady drift is not oscillation
    assert stability_summary(history(g_loss=np.linspace(5, -5, 8)), "complete")["g_loss_oscillation"] == \
        pytest.approx(0.0, abs=1e-12)
    # alternating a, b with an even number of differences: exactly |a - b|
    alt = np.append(np.tile([0.2, 3.2], 4), 0.2)  # 9 values, 8 differences +-3
    assert stability_summary(history(n=9, g_loss=alt), "complete", tail=1.0)["g_loss_oscillation"] == \
        pytest.approx(3.0, rel=1e-12)


def test_tail_rounds_up_and_follows_step_order():
    # tail 0.2 of 8 rows -> ceil(1.6) = 2 rows -> one difference, std 0 (1 row would give nan)
    assert stability_summary(history(), "complete", tail=0.2)["g_loss_oscillation"] == 0.0
    # rows stored newest first: after sorting by step the last 3 rows hold 0, 4, 0 -> differences 4, -4
    g = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 4.0, 0.0])
    h = history(n=9, g_loss=g).iloc[::-1]
    assert stability_summary(h, "complete", tail=0.3)["g_loss_oscillation"] == pytest.approx(4.0)
    # 0.3 * 10 is 3.0000000000000004 in floating point; still 3 rows (0, 4, 0), not 4
    g = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0, 0.0, 4.0, 0.0])
    assert stability_summary(history(n=10, g_loss=g), "complete", tail=0.3)["g_loss_oscillation"] == \
        pytest.approx(4.0)


def test_oscillation_ignores_non_finite_and_is_nan_with_one_value():
    g = np.array([1.0, 1.0, 1.0, 1.0, 0.0, np.nan, 2.0, np.inf])
    assert stability_summary(history(g_loss=g), "complete", tail=0.5)["g_loss_oscillation"] == pytest.approx(0.0)
    one = stability_summary(history(n=1), "complete")
    assert math.isnan(one["g_loss_oscillation"])
    assert one["d_grad_norm_median"] == 1.0


def test_accuracy_proxy_from_mean_scores():
    # tail = last 4 rows: d_real > 0 in 3 of them, d_fake < 0 in 1 of them
    d_real = np.array([-1.0, -1.0, -1.0, -1.0, 0.3, -0.2, 0.1, 2.0])
    d_fake = np.array([-9.0, -9.0, -9.0, -9.0, 0.0, 0.5, -0.1, 0.2])  # 0.0 is not < 0
    s = stability_summary(history(d_real=d_real, d_fake=d_fake), "complete", tail=0.5)
    assert (s["d_acc_real"], s["d_acc_fake"]) == (0.75, 0.25)
    # least squares with 0/1 targets: boundary at 0.5
    s = stability_summary(history(d_real=np.full(8, 0.6), d_fake=np.full(8, 0.4)), "complete", score_threshold=0.5)
    assert (s["d_acc_real"], s["d_acc_fake"]) == (1.0, 1.0)


def test_accuracy_columns_win_over_the_proxy():
    acc_r = np.array([0.0, 0.0, 0.0, 0.0, 0.9, 0.8, np.nan, 0.7])
    acc_f = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.6])
    s = stability_summary(history(d_acc_real=acc_r, d_acc_fake=acc_f), "complete", tail=0.5)
    assert s["d_acc_real"] == pytest.approx(0.8)  # mean of the finite 0.9, 0.8, 0.7
    assert s["d_acc_fake"] == pytest.approx(0.55)


def test_grad_norm_max_shows_inf_median_skips_it():
    d = np.array([1.0, 2.0, 3.0, np.inf, np.nan, 5.0, 6.0, 7.0])
    s = stability_summary(history(d_grad_norm=d), "diverged")
    assert s["d_grad_norm_median"] == 4.0  # median of 1, 2, 3, 5, 6, 7
    assert s["d_grad_norm_max"] == math.inf


def test_absent_optional_columns_give_nan():
    h = history()[["step", "d_loss", "g_loss"]]
    s = stability_summary(h, "complete")
    for key in ("d_grad_norm_median", "d_grad_norm_max", "g_grad_norm_median", "g_grad_norm_max",
                "d_acc_real", "d_acc_fake"):
        assert math.isnan(s[key]), key
    assert s["g_loss_oscillation"] == 0.0


def test_empty_history():
    s = stability_summary(history(n=0), "running")
    assert s["diverged"] is False
    assert math.isnan(s["g_loss_oscillation"]) and math.isnan(s["d_grad_norm_max"])


@pytest.mark.parametrize("h, status, kw, match", [
    (history().drop(columns=["g_loss"]), "complete", {}, r"history lacks column\(s\) g_loss; required: step, d_loss, g_loss"),
    (history().to_dict(), "complete", {}, r"history must be a pandas DataFrame, got dict"),
    (history(), None, {}, r"status must be a string .* got None"),
    (history(), "complete", {"tail": 0.0}, r"tail must be a share in \(0, 1\], got 0\.0"),
    (history(), "complete", {"tail": 1.5}, r"tail must be a share in \(0, 1\], got 1\.5"),
    (history(d_grad_norm=["big"] * 8), "complete", {}, r"history column 'd_grad_norm' must be numeric"),
])
def test_stability_summary_rejects_bad_input(h, status, kw, match):
    with pytest.raises(ValueError, match=match):
        stability_summary(h, status, **kw)


# ---- seed_failure_rates -----------------------------------------------------------------

def runs():
    return pd.DataFrame({
        "dataset": ["ring8"] * 6 + ["grid25"] * 2,
        "model": ["mlp"] * 8,
        "loss": ["ns", "ns", "ns", "ns", "wgan", "wgan", "ns", "ns"],
        "seed": [0, 1, 2, 3, 0, 1, 0, 1],
        "diverged": [True, False, False, False, False, False, False, False],
        "collapsed": [True, True, False, None, False, False, None, None],
    })


def test_seed_failure_rates_hand_computed():
    out = seed_failure_rates(runs())
    assert list(out.columns) == ["dataset", "model", "loss", "n_seeds", "diverged", "collapsed"]
    rows = {(r.dataset, r.loss): r for r in out.itertuples()}
    assert list(zip(out["dataset"], out["loss"])) == [("grid25", "ns"), ("ring8", "ns"), ("ring8", "wgan")]
    ns = rows[("ring8", "ns")]
    assert (ns.n_seeds, ns.diverged, ns.collapsed) == (4, 0.25, pytest.approx(2 / 3))  # collapse known for 3
    assert (rows[("ring8", "wgan")].diverged, rows[("ring8", "wgan")].collapsed) == (0.0, 0.0)
    assert math.isnan(rows[("grid25", "ns")].collapsed)  # never determined


def test_seed_failure_rates_other_grouping_and_int_flags():
    df = runs().assign(diverged=[1, 0, 0, 0, 0, 0, 1, 1])
    out = seed_failure_rates(df, by="loss")
    assert out.to_dict("list")["diverged"] == [pytest.approx(3 / 6), 0.0]
    assert out["loss"].tolist() == ["ns", "wgan"]


@pytest.mark.parametrize("df, by, match", [
    (runs().drop(columns=["collapsed"]), ("dataset",), r"df lacks column\(s\) collapsed"),
    (runs(), ("optimizer",), r"df lacks column\(s\) optimizer; needs the by columns \(optimizer\)"),
    (runs().assign(diverged=["yes"] * 8), ("loss",), r"column 'diverged' must hold True/False \(or missing\), got 'yes'"),
    (runs().assign(collapsed=[2] * 8), ("loss",), r"column 'collapsed' must hold True/False .* got 2"),
    (runs(), (), r"by must name at least one column"),
])
def test_seed_failure_rates_rejects_bad_input(df, by, match):
    with pytest.raises(ValueError, match=match):
        seed_failure_rates(df, by=by)
