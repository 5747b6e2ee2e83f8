"""Bound propagation over the IR: interval bounds (IBP), CROWN and alpha-CROWN; branch-and-bound later."""

from .grid import GRID, Grid
from .ibp import VerifyResult, certify, float_bounds, verify_ibp
from .verify import METHODS, verify

__all__ = ["GRID", "METHODS", "Grid", "VerifyResult", "certify", "float_bounds", "verify", "verify_ibp"]
