"""pytorch2lean: one exact graph IR for a neural network, run on NumPy/CuPy and checked in Lean 4."""

__version__ = "0.1.0"
