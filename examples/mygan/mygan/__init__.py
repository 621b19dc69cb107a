"""Example ganbench plugins: ``mygan.losses:focal_ns`` and ``mygan.nets:small_gan``."""
