"""Published reference numbers the report shows beside ganbench's own (marked as published).

Transcribed from /work/shared/REFERENCES.md, which quotes the papers:

* PacGAN (Lin et al. 2018, arXiv 1712.04086) Table 1: modes, HQ share and reverse KL on the
  8-Gaussian ring and the 25-Gaussian grid, mean ± standard error over 10 trials.
* VEEGAN (Srivastava et al. 2017, arXiv 1705.07761) Table 1: modes and HQ share on the same
  mixtures, mean over 5 runs (no error given).
* Lucic et al. 2018 "Are GANs Created Equal?" (arXiv 1711.10337) Table 2: best FID per loss,
  mean ± std over 50 seeds, as reprinted by two later papers (one cell where they disagree is
  kept with both errors in its note).

A row is shown only beside results that follow its protocol (``applies``): the mixtures need the
dataset only (the protocol text says how the papers sampled and trained); Lucic et al.'s FIDs
need their InfoGAN networks, the standard Inception features (``comparable``), the test split and
10,000 real and 10,000 generated samples, because FID is biased by sample count and extractor. HQ shares are stored as fractions (0–1),
like ganbench's ``hq_fraction``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = ["Source", "Published", "PUBLISHED", "PACGAN_T1", "VEEGAN_T1", "LUCIC_T2", "published_for"]


@dataclass(frozen=True)
class Source:
    paper: str
    arxiv: str
    table: str
    error: str       # what the ± means
    protocol: str    # how the numbers were produced, in one paragraph

    @property
    def cite(self) -> str:
        return f"{self.paper}, arXiv:{self.arxiv}, {self.table}"


@dataclass(frozen=True)
class Published:
    dataset: str                      # ganbench dataset name
    method: str                       # as printed in the paper
    values: Mapping[str, tuple[float, Optional[float]]]  # metric -> (value, ± error or None)
    source: Source
    loss: Optional[str] = None        # the ganbench loss it corresponds to, when there is one
    note: str = ""
    requires: Mapping[str, Any] = field(default_factory=dict)  # protocol columns that must match


PACGAN_T1 = Source(
    "Lin et al. 2018, PacGAN", "1712.04086", "Table 1", "± standard error over 10 trials",
    "ring: 8 modes on a circle of radius 1, std 0.01; grid: 25 modes at {-4,-2,0,2,4}^2, std 0.05; "
    "G four ReLU+BN layers of 400, D maxout 200 units x 5 pieces; Adam lr 1e-4, beta1 0.8, batch 100, "
    "400 epochs of 100k samples; 2,500 samples per evaluation; HQ = nearest mode within 3 std.")
VEEGAN_T1 = Source(
    "Srivastava et al. 2017, VEEGAN", "1705.07761", "Table 1", "mean over 5 runs, no error reported",
    "the same 2-D mixtures; 2,500 samples per evaluation; HQ = nearest mode within 3 std.")
LUCIC_T2 = Source(
    "Lucic et al. 2018, Are GANs Created Equal?", "1711.10337", "Table 2",
    "± std over 50 seeds, as reprinted by two later papers",
    "InfoGAN-style networks, z 64 ~ U(-1,1), batch 64, 20 epochs (MNIST, Fashion-MNIST) or 100 (CIFAR-10); "
    "best hyperparameters per loss; FID of 10,000 test images vs 10,000 samples on Inception pool3 "
    "(images resized to 299, grayscale tiled to 3 channels).")

_LUCIC_PROTOCOL = {"model": "infogan", "features": "inception-v3-compat", "comparable": True, "split": "test",
                   "n_real": 10000, "n_fake": 10000}


def _pacgan() -> list[Published]:
    rows = {  # method: ring (modes, HQ %, rev-KL), grid (modes, HQ %, rev-KL), each value ± standard error
        "GAN": (((6.3, .5), (98.2, .2), (.45, .09)), ((17.3, .8), (94.8, .7), (.70, .07))),
        "ALI": (((6.6, .3), (97.6, .4), (.36, .04)), ((24.1, .4), (95.7, .6), (.14, .03))),
        "PacGAN2": (((7.9, .1), (95.6, 2.0), (.07, .03)), ((23.8, .7), (91.3, .8), (.13, .04))),
        "PacGAN3": (((7.8, .1), (97.7, .3), (.10, .02)), ((24.6, .4), (94.2, .4), (.06, .02))),
        "PacGAN4": (((7.8, .1), (95.9, 1.4), (.07, .02)), ((24.8, .2), (93.6, .6), (.04, .01))),
    }
    out = []
    for method, per_data in rows.items():
        for dataset, ((m, me), (hq, hqe), (kl, kle)) in zip(("ring8", "grid25"), per_data):
            out.append(Published(dataset, method, {"modes": (m, me), "hq_fraction": (hq / 100, hqe / 100),
                                                   "reverse_kl": (kl, kle)}, PACGAN_T1))
    return out


def _veegan() -> list[Published]:
    rows = {"GAN (DCGAN)": ((1, 99.3), (3.3, 0.5)), "ALI": ((2.8, 0.13), (15.8, 1.6)),
            "Unrolled GAN": ((7.6, 35.6), (23.6, 16)), "VEEGAN": ((8, 52.9), (24.6, 40))}
    return [Published(dataset, method, {"modes": (m, None), "hq_fraction": (hq / 100, None)}, VEEGAN_T1)
            for method, per_data in rows.items() for dataset, (m, hq) in zip(("ring8", "grid25"), per_data)]


def _lucic() -> list[Published]:
    rows = {  # method, ganbench loss: MNIST, Fashion-MNIST, CIFAR-10 (FID mean, std)
        ("MM GAN", "minimax"): ((9.8, .9), (29.6, 1.6), (72.7, 3.6)),
        ("NS GAN", "ns"): ((6.8, .5), (26.5, 1.6), (58.5, 1.9)),
        ("LSGAN", "lsgan"): ((7.8, .6), (30.7, 2.2), (87.1, None)),
        ("WGAN", "wgan"): ((6.7, .4), (21.5, 1.6), (55.2, 2.3)),
        ("WGAN GP", "wgan-gp"): ((20.3, 5.0), (24.5, 2.1), (55.8, .9)),
        ("DRAGAN", "dragan"): ((7.6, .4), (27.7, 1.2), (69.8, 2.0)),
        ("BEGAN", None): ((13.1, 1.0), (22.9, .9), (71.4, 1.6)),
    }
    out = []
    for (method, loss), per_data in rows.items():
        for dataset, value in zip(("mnist", "fashion-mnist", "cifar10"), per_data):
            note = "std ±47.5 or ±0.9: the two reprints disagree" if value[1] is None else ""
            out.append(Published(dataset, method, {"fid": value}, LUCIC_T2, loss=loss, note=note,
                                 requires=_LUCIC_PROTOCOL))
    return out


PUBLISHED: tuple[Published, ...] = tuple(_pacgan() + _veegan() + _lucic())


def published_for(dataset: str, protocol: Mapping[str, Any] | None = None) -> list[Published]:
    """The published rows that apply to results on ``dataset`` produced under ``protocol``.

    ``protocol`` maps model / features / comparable / split / n_real / n_fake to the value every run of the
    leaderboard shares (None where runs disagree, which matches no requirement).
    """
    protocol = protocol or {}
    return [p for p in PUBLISHED if p.dataset == dataset
            and all(protocol.get(k) == v for k, v in p.requires.items())]
