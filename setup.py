"""Packaging detail pyproject.toml cannot say: ship the top-level lean/, templates/ and examples/
folders inside the wheel as `pytorch2lean/_data/<name>/` (found by pytorch2lean.resources)."""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT_FILES = ("lakefile.lean", "lean-toolchain")  # the Lean library's Lake root, beside lean/

DATA = {
    "lean": ["**/*.lean", "*.md"],
    "templates": ["**/*.j2", "**/*.md"],
    "examples": ["**/*.p2l", "**/*.npz", "**/*.npy", "**/*.md", "**/*.py"],
}
package_dir = {f"pytorch2lean._data.{name}": name for name in DATA if Path(name).is_dir()}



class BuildWithLakeRoot(build_py):
    """Also copy the top-level lakefile.lean and lean-toolchain to pytorch2lean/_data/, so that an
    export's `require pytorch2lean from "<_data>"` finds the library's Lake package in a wheel."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "pytorch2lean" / "_data"
        self.mkpath(str(target))  # an editable build does not create the data packages there
        for name in ROOT_FILES:
            if Path(name).is_file():
                self.copy_file(name, str(target / name))


setup(
    cmdclass={"build_py": BuildWithLakeRoot},
    packages=find_packages(include=["pytorch2lean*"]) + sorted(package_dir),
    package_dir=package_dir,
    package_data={
        "": ["*.lark"],  # grammars of the DSL and VNN-LIB parsers
        **{package: DATA[folder] for package, folder in package_dir.items()},
    },
)
