"""Specifications: exact input boxes, output properties (unsafe region in DNF), VNN-LIB parsing."""

from .box import Box
from .numbers import Number, exact, round_f32_down, round_f32_up
from .property import Conjunction, Disjunction, LinearConstraint, Property
from .vnnlib import VnnlibSpec, load_vnnlib, parse_vnnlib

__all__ = [
    "Box",
    "Conjunction",
    "Disjunction",
    "LinearConstraint",
    "Number",
    "Property",
    "VnnlibSpec",
    "exact",
    "load_vnnlib",
    "parse_vnnlib",
    "round_f32_down",
    "round_f32_up",
]
