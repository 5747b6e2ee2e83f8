"""Packaging detail pyproject.toml cannot say: ship the top-level lean/, templates/ and examples/
folders inside the wheel as `pytorch2lean/_data/<name>/` (found by pytorch2lean.resources)."""

from pathlib import Path

from setuptools import find_packages, setup

DATA = {
    "lean": ["**/*.lean", "*.md"],
    "templates": ["**/*.j2", "**/*.md"],
    "examples": ["**/*.p2l", "**/*.npz", "**/*.npy", "**/*.md", "**/*.py"],
}
package_dir = {f"pytorch2lean._data.{name}": name for name in DATA if Path(name).is_dir()}

setup(
    packages=find_packages(include=["pytorch2lean*"]) + sorted(package_dir),
    package_dir=package_dir,
    package_data={
        "": ["*.lark"],  # grammars of the DSL and VNN-LIB parsers
        **{package: DATA[folder] for package, folder in package_dir.items()},
    },
)
