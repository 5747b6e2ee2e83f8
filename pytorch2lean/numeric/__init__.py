"""Exact numbers: float32 <-> dyadic rationals, rounding, exact arrays."""
