"""ganbench: compare GAN loss functions with evidence.

Train standard GAN configurations under each loss, evaluate them (IS, FID,
KID, precision/recall, mode collapse, stability), tabulate, report, and gate
CI on regressions. See docs/architecture.md for the module map.
"""
__version__ = "0.1.0"
