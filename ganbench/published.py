"""Published reference numbers the report shows beside ganbench's own (marked as published).

Every row names its primary source (paper, table, what ± means, what was searched, selected or removed) and
the ganbench configuration that is its like-for-like counterpart, and stands beside a board only when the
board's protocol matches the published one (``Published.mismatches``):

* PacGAN (Lin et al. 2018, arXiv 1712.04086) Table 1: modes, HQ share and reverse KL on the 8-Gaussian ring
  and the 25-Gaussian grid, mean ± standard error over 10 trials of one setting, trained 400 epochs of a
  fixed set of 100k points (400k steps of batch 100). Its "GAN" is the non-saturating loss (``ns``); PacGANm
  is ``ns`` with ``model.pack = m``. It stands beside a board of PacGAN's networks, initialisation, training
  set, batch and 2,500 evaluation samples whose runs trained 400k steps, or fewer steps when the like-for-like
  row has converged (mean HQ >= 0.9: PacGAN's rows are 91-98 %), the shortest schedule docs/protocol-runs.md
  measures.
* VEEGAN (Srivastava et al. 2017, arXiv 1705.07761) Table 1: modes and HQ share on the same mixtures with
  VEEGAN's own networks, which ganbench does not build: kept for reference, never beside a board.
* Lucic et al. 2018, "Are GANs Created Equal?" (arXiv 1711.10337) Table 2: the best FID per loss after a
  large hyper-parameter search: it can stand only beside a board of each loss's best trial of a search
  (``BEST_OF_SEARCH``) whose protocol matches, never beside a fixed-setting board.

HQ shares are stored as fractions (0–1), like ganbench's ``hq_fraction``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .config import architecture

__all__ = ["Source", "Published", "PUBLISHED", "PACGAN_T1", "VEEGAN_T1", "LUCIC_T2", "SINGLE_SETTING",
           "BEST_OF_SEARCH", "PACGAN_ARCHITECTURE", "published_for", "published_excluded"]

SINGLE_SETTING = "one setting per loss"  # a fixed-setting board: no hyper-parameter search behind it
BEST_OF_SEARCH = "best of a hyper-parameter search"  # a board of each loss's best trial of a search


@dataclass(frozen=True)
class Source:
    paper: str
    arxiv: str
    table: str
    error: str       # what the ± means
    protocol: str    # how the numbers were produced, in one paragraph
    selection: str   # what was searched, selected or removed before the numbers were reported

    @property
    def cite(self) -> str:
        return f"{self.paper}, arXiv:{self.arxiv}, {self.table}"


@dataclass(frozen=True)
class Published:
    dataset: str                      # ganbench dataset name
    method: str                       # as printed in the paper
    values: Mapping[str, tuple[float, Optional[float]]]  # metric -> (value, ± error or None)
    source: Source
    config: Optional[str] = None      # the like-for-like ganbench configuration, in words; None: there is none
    label: Optional[str] = None       # that configuration's row (loss label) on a board of the bundled suites
    note: str = ""
    requires: Mapping[str, Any] = field(default_factory=dict)  # protocol columns that must match
    steps: Optional[int] = None       # generator steps behind the published numbers
    converged: Optional[tuple[str, float]] = None  # (metric, least mean of the like-for-like row) standing in for steps

    def mismatches(self, protocol: Mapping[str, Any]) -> list[str]:
        """Why this row may not stand beside a board of ``protocol`` (empty: it may).

        ``protocol`` maps the ``requires`` keys (and ``steps``) to the value every run of the board shares (None
        where they differ) and ``rows`` to ``{label: {metric: mean}}`` of the board's rows.
        """
        schedule = self.schedule_mismatch(protocol)
        return self.protocol_mismatches(protocol) + ([schedule] if schedule else [])

    def protocol_mismatches(self, protocol: Mapping[str, Any]) -> list[str]:
        """The ``requires`` columns the board does not share with the published protocol."""
        return [f"{key} {protocol.get(key)!r}, published {want!r}" for key, want in self.requires.items()
                if protocol.get(key) != want]

    def schedule_mismatch(self, protocol: Mapping[str, Any]) -> Optional[str]:
        """None when the board trained the published steps, or fewer with the like-for-like row converged."""
        steps = protocol.get("steps")
        if self.steps is None or (steps is not None and steps >= self.steps):
            return None
        if self.converged is None:
            return f"steps {steps!r}, published {self.steps}"
        if self.label is None:  # nothing in ganbench to converge: only the published schedule will do
            return f"steps {steps!r} < {self.steps} (no like-for-like ganbench run to have converged)"
        metric, least = self.converged
        got = (protocol.get("rows") or {}).get(self.label, {}).get(metric)
        if got is not None and got >= least:
            return None
        shown = "no such row" if got is None else f"mean {metric} {got:.3g}"
        return f"steps {steps!r} < {self.steps} and {self.label!r} not converged ({shown}; converged: >= {least:g})"


PACGAN_ARCHITECTURE = architecture({"name": "mlp", "hidden": 400, "depth": 4, "z_dim": 2, "d_hidden": 200,
                                    "d_depth": 3, "d_maxout": 5, "init": "pacgan"})

PACGAN_T1 = Source(
    "Lin, Khetan, Fanti & Oh 2018, PacGAN: The Power of Two Samples in GANs (NeurIPS)", "1712.04086", "Table 1",
    "± standard error over 10 trials",
    "ring: 8 modes on a circle of radius 1, std 0.01; grid: 25 modes at {-4,-2,0,2,4}^2, std 0.05; "
    "G four ReLU+BN layers of 400, D maxout 200 units x 5 pieces x 3 layers; weights N(0, 0.02^2), biases 0; "
    "Adam lr 1e-4, beta1 0.8, batch 100 (packed inputs: PacGANm draws 100·m samples a step); "
    "400 epochs of one fixed set of 100k points (400k steps); 2,500 samples per evaluation; "
    "HQ = nearest mode within 3 std; reverse KL of the HQ mode histogram against uniform.",
    "one setting (the paper's), 10 trials each reported in the mean; no search or removal described")
VEEGAN_T1 = Source(
    "Srivastava, Valkov, Russell, Gutmann & Sutton 2017, VEEGAN (NeurIPS)", "1705.07761", "Table 1",
    "mean over 5 runs, no error reported",
    "the same 2-D mixtures with VEEGAN's own generator and discriminator networks (not ganbench's mlp); "
    "2,500 samples per evaluation; HQ = nearest mode within 3 std.",
    "one setting per method; no search or removal described")
LUCIC_T2 = Source(
    "Lucic, Kurach, Michalski, Gelly & Bousquet 2018, Are GANs Created Equal? (NeurIPS)", "1711.10337", "Table 2",
    "± std over the seeds of the best setting",
    "InfoGAN-style networks, z 64 ~ U(-1,1), batch 64, 20 epochs (MNIST, Fashion-MNIST) or 100 (CIFAR-10); "
    "FID of 10,000 test images vs 10,000 samples on Inception pool3 (images resized to 299, grayscale tiled to "
    "3 channels); the losses as compare_gan writes them (its LSGAN squares the sigmoid of D's output).",
    "the best FID of a large hyper-parameter search per loss and dataset, over 50 seeds of the best setting with "
    "outliers removed; the values here were copied from two later papers that reprint Table 2 (not named in "
    "their transcription) and disagree on two cells, not re-read from the paper itself")

_LUCIC_PROTOCOL = {"model": "infogan", "features": "inception-v3-compat", "comparable": True, "split": "test",
                   "n_real": 10000, "n_fake": 10000, "search": BEST_OF_SEARCH}
_PACGAN_PROTOCOL = {"architecture": PACGAN_ARCHITECTURE, "n_train": 100000, "batch_size": 100, "n_fake": 2500,
                    "search": SINGLE_SETTING}


def _pacgan() -> list[Published]:
    rows = {  # method: ring (modes, HQ %, rev-KL), grid (modes, HQ %, rev-KL), each value ± standard error
        "GAN": (((6.3, .5), (98.2, .2), (.45, .09)), ((17.3, .8), (94.8, .7), (.70, .07))),
        "ALI": (((6.6, .3), (97.6, .4), (.36, .04)), ((24.1, .4), (95.7, .6), (.14, .03))),
        "PacGAN2": (((7.9, .1), (95.6, 2.0), (.07, .03)), ((23.8, .7), (91.3, .8), (.13, .04))),
        "PacGAN3": (((7.8, .1), (97.7, .3), (.10, .02)), ((24.6, .4), (94.2, .4), (.06, .02))),
        "PacGAN4": (((7.8, .1), (95.9, 1.4), (.07, .02)), ((24.8, .2), (93.6, .6), (.04, .01))),
    }
    like = {"GAN": ("loss ns (PacGAN's GAN is the non-saturating loss), pack 1", "ns"),
            "ALI": (None, None),
            **{f"PacGAN{m}": (f"loss ns with model.pack = {m}", f"ns-pack{m}") for m in (2, 3, 4)}}
    out = []
    for method, per_data in rows.items():
        config, label = like[method]
        for dataset, ((m, me), (hq, hqe), (kl, kle)) in zip(("ring8", "grid25"), per_data):
            out.append(Published(dataset, method, {"modes": (m, me), "hq_fraction": (hq / 100, hqe / 100),
                                                   "reverse_kl": (kl, kle)}, PACGAN_T1, config=config, label=label,
                                 note="" if config else "ALI (an encoder and a joint discriminator) is not in ganbench",
                                 requires=_PACGAN_PROTOCOL, steps=400_000, converged=("hq_fraction", 0.9)))
    return out


def _veegan() -> list[Published]:
    rows = {"GAN": ((1, 99.3), (3.3, 0.5)), "ALI": ((2.8, 0.13), (15.8, 1.6)),
            "Unrolled GAN": ((7.6, 35.6), (23.6, 16)), "VEEGAN": ((8, 52.9), (24.6, 40))}
    return [Published(dataset, method, {"modes": (m, None), "hq_fraction": (hq / 100, None)}, VEEGAN_T1,
                      requires={"architecture": "VEEGAN's networks"},
                      note="VEEGAN's networks are not ganbench's, so no board matches this row")
            for method, per_data in rows.items() for dataset, (m, hq) in zip(("ring8", "grid25"), per_data)]


def _lucic() -> list[Published]:
    rows = {  # method, ganbench loss: MNIST, Fashion-MNIST, CIFAR-10 (FID mean, std)
        ("MM GAN", "minimax"): ((9.8, .9), (29.6, 1.6), (72.7, 3.6)),
        ("NS GAN", "ns"): ((6.8, .5), (26.5, 1.6), (58.5, 1.9)),
        ("LSGAN", None): ((7.8, .6), (30.7, 2.2), (87.1, None)),
        ("WGAN", "wgan"): ((6.7, .4), (21.5, 1.6), (55.2, 2.3)),
        ("WGAN GP", "wgan-gp"): ((20.3, 5.0), (24.5, 2.1), (55.8, .9)),
        ("DRAGAN", None): ((7.6, .4), (27.7, 1.2), (69.8, 2.0)),
        ("BEGAN", None): ((13.1, 1.0), (22.9, .9), (71.4, 1.6)),
    }
    why_not = {"LSGAN": "compare_gan's LSGAN squares the sigmoid of D's output, ganbench's lsgan raw scores",
               "DRAGAN": "compare_gan's DRAGAN penalty is not the authors' form that ganbench's dragan follows",
               "BEGAN": "BEGAN (an autoencoder discriminator) is not in ganbench"}
    out = []
    for (method, loss), per_data in rows.items():
        for dataset, value in zip(("mnist", "fashion-mnist", "cifar10"), per_data):
            notes = [why_not.get(method, "")]
            if value[1] is None:
                notes.append("std ±47.5 or ±0.9: the two reprints disagree")
            out.append(Published(dataset, method, {"fid": value}, LUCIC_T2,
                                 config=None if loss is None else f"loss {loss}, model infogan", label=loss,
                                 note="; ".join(n for n in notes if n), requires=_LUCIC_PROTOCOL))
    return out


PUBLISHED: tuple[Published, ...] = tuple(_pacgan() + _veegan() + _lucic())


def published_for(dataset: str, protocol: Mapping[str, Any] | None = None) -> list[Published]:
    """The published rows of ``dataset`` that may stand beside a board of ``protocol`` (see ``mismatches``)."""
    return [p for p in PUBLISHED if p.dataset == dataset and not p.mismatches(protocol or {})]


def published_excluded(dataset: str, protocol: Mapping[str, Any] | None = None) -> list[tuple[Published, list[str]]]:
    """The published rows of ``dataset`` kept from a board of ``protocol``, each with the reasons."""
    rows = [(p, p.mismatches(protocol or {})) for p in PUBLISHED if p.dataset == dataset]
    return [(p, why) for p, why in rows if why]
