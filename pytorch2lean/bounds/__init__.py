"""Bound propagation over the IR: interval bounds (IBP) now; CROWN, alpha-CROWN and branch-and-bound later."""

from .grid import GRID, Grid
from .ibp import VerifyResult, certify, float_bounds, verify_ibp

__all__ = ["GRID", "Grid", "VerifyResult", "certify", "float_bounds", "verify_ibp"]
