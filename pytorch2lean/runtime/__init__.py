"""Running the IR: float32 on NumPy or CuPy, exact over rationals, and run records."""

from .backend import array_module
from .executor import evaluate_exact, execute

__all__ = ["array_module", "evaluate_exact", "execute"]
