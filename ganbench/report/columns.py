"""What each leaderboard column means: one definition per column, printed once per page (Markdown and HTML),
built from the constants that compute the columns so that page and code cannot disagree."""
from __future__ import annotations

from ..aggregate import INTERVAL_METHOD
from ..modes import COVER_SHARE, HQ_THRESHOLD, MIN_SPREAD_RATIO, MODE_DROP

# A loss whose perfect-generator mode count (same HQ sample count) falls this far below K has a mode count
# limited by its sample size: the page says so beside the board.
SAMPLE_SIZE_SLACK = 0.1

DEFINITIONS: dict[str, str] = {
    "#": "rank by the mean of the ranking metric (— : no value).",
    "FID": "Fréchet distance between Gaussian fits of real and generated features (float64); lower is better.",
    "KID": "kernel inception distance: unbiased MMD² with the cubic polynomial kernel, mean over subsets.",
    "IS": "inception score exp(E KL(p(y|x) ‖ p(y))) of the generated samples.",
    "precision": "share of generated samples inside the real k-NN manifold (k = 3, Kynkäänniemi et al. 2019).",
    "recall": "share of real samples inside the generated k-NN manifold (k = 3).",
    "modes": "modes with at least one HQ sample nearest to them (of K); classifier data: distinct predicted "
             "classes.",
    "HQ": f"share of generated samples within {HQ_THRESHOLD:g} std of their nearest mode (PacGAN, VEEGAN).",
    "rev-KL": "KL(histogram of HQ samples over the modes ‖ uniform), nats; undefined (∞) with no HQ sample.",
    "KL": "KL(generated class histogram ‖ real class histogram), nats.",
    "NDB": "number of k-means bins whose generated share differs from the real share (p < 0.05).",
    "perfect G modes · rev-KL": "what a perfect generator (every sample HQ, modes uniform) scores with the same "
                                "number of HQ samples as the loss, mean over seeds: the sample-size floor of "
                                "modes and rev-KL.",
    "diverged": "runs whose losses or samples became non-finite / runs.",
    "collapsed": f"runs that lost modes during training / runs: modes fell more than {MODE_DROP:.0%} below the "
                 f"run's own best, or the spread of the samples fell under {MIN_SPREAD_RATIO:g}× the real spread.",
    "failed to cover": f"runs that cover fewer than {COVER_SHARE:.0%} of the K modes at the end / runs, whether "
                       f"or not they ever covered more (a run without a final mode count counts).",
    "seeds": "runs in the summary (finished or diverged); failed, incomplete and corrupt runs in brackets.",
    "W/T/L": "pairwise wins / ties / losses on the ranking metric (two-sided test across seeds, Holm-adjusted).",
}
NOTES = (
    f"Cells: mean (lo to hi): {INTERVAL_METHOD}; the interval stays inside the metric's range. A single "
    "number: one seed, or every seed gave the same value.",
    "A run whose value is undefined counts as the worst outcome (∞ where lower is better, the bottom of the range "
    "where higher is better) in the mean, the interval, the rank and the tests; the cell says how many "
    "(e.g. \"1.9 (1.6 to ∞) · 1 of 8 no HQ samples → ∞\").",
)


def definitions_for(headers: list[list[str]]) -> list[tuple[str, str]]:
    """(column, definition) for every defined column that appears in one of the boards' ``headers``, in
    the order of ``DEFINITIONS``; a header may carry a suffix (``modes (of 8) ↑``)."""
    seen = {h for head in headers for h in head}
    out = []
    for name, text in DEFINITIONS.items():
        if any(h == name or h.startswith(name + " ") for h in seen):
            out.append((name, text))
    return out


__all__ = ["DEFINITIONS", "NOTES", "SAMPLE_SIZE_SLACK", "definitions_for"]
