"""A memory budget per process: bound computations plan their working sets under it, and the kernel
enforces it, so that a run too big for the machine answers `unknown` with a reason instead of being
ended by the out-of-memory killer (or swapping the machine to a halt).

`limit(n)` records the budget and sets the process's RLIMIT_DATA (private writable memory: the heap
and NumPy's arrays) to it, so an allocation past it fails with MemoryError where it is made, which
the verification entry points turn into an `unknown` answer (`OUT_OF_MEMORY`). Planned work asks
`available()` first: back-substitution bounds its identity rows in chunks that fit
(`bounds/crown.py`), and refuses, with `BudgetExceeded`, work that would not fit even one row at a
time, and the falsifier scores its samples in slices that fit (`bounds/falsify.py`). Without `limit`
(library use, tests) nothing is enforced and plans use `default_budget()`. Processes started
after `limit` (a split tree's leaf-check pool) inherit the limit, each on its own.

`reuse_freed_memory()` makes glibc keep freed blocks of up to REUSE_BYTES in the heap: the exact
checker allocates and frees arrays of a few MB many times a second, and by default each is a fresh
mapping whose pages the kernel must zero on first touch (a third of a split tree's check time).
"""

from __future__ import annotations

import ctypes
import os
import re
import resource

from .errors import UserError

DEFAULT_FRACTION = 0.75  # of the machine's memory (or its cgroup's), shared by the processes of one run
OUT_OF_MEMORY = "out of memory"  # how a MemoryError answer's reason starts
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_budget: int | None = None  # set by `limit`
REUSE_BYTES = 32 << 20  # blocks up to this size come from the heap and return to it (glibc's largest)
KEEP_FREE_BYTES = 256 << 20  # free heap kept at its top rather than handed back to the kernel
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


class BudgetExceeded(MemoryError):
    """Planned work that cannot fit the budget, even split as finely as it can be (a MemoryError, so
    it is answered as one)."""


def reuse_freed_memory() -> bool:
    """Have glibc's malloc serve blocks up to REUSE_BYTES from the heap and keep up to
    KEEP_FREE_BYTES of free heap (see the module docstring); False where the C library has no
    `mallopt` (not glibc), which changes nothing else. Freed memory still counts against
    RLIMIT_DATA while kept, at most KEEP_FREE_BYTES past the peak: a run's budget keeps holding."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, REUSE_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREE_BYTES))


def physical_bytes() -> int:
    """The memory this process may use at most: the machine's, or its cgroup's limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def default_budget(processes: int = 1) -> int:
    """DEFAULT_FRACTION of the machine's memory, shared evenly by `processes` solving at once."""
    return int(DEFAULT_FRACTION * physical_bytes() / max(1, processes))


def parse_size(text: str, option: str = "--memory") -> int:
    """Bytes from "8G", "512M", "1.5GiB" or a plain number of bytes; a user error otherwise."""
    m = _SIZE.match(text)
    if m is None:
        raise UserError(f"{option} {text!r}: give a size such as 8G, 512M or 1.5GiB")
    value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value <= 0:
        raise UserError(f"{option} {text!r}: give a size above 0")
    return value


def used_bytes() -> int:
    """The process's private writable memory now (what RLIMIT_DATA counts); its resident size where
    /proc is missing."""
    data = _proc_bytes("/proc/self/status", "VmData:")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if data is None else data


def limit(nbytes: int, option: str = "--memory") -> None:
    """Hold this process to `nbytes` from now on (see the module docstring). A budget below what the
    process already uses is a user error: every allocation would fail."""
    global _budget
    above_use(nbytes, option)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = nbytes if hard == resource.RLIM_INFINITY else min(nbytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    _budget = soft


def above_use(nbytes: int, option: str = "--memory") -> None:
    """A user error when `nbytes` is not above what this process uses now (a fresh worker process,
    which imports the same, uses about as much): every allocation under it would fail."""
    used = used_bytes()
    if nbytes <= used:
        raise UserError(f"{option} {describe(nbytes)} is below what the process already uses ({describe(used)})")


def budget() -> int:
    """The budget set by `limit`, else `default_budget()`."""
    return default_budget() if _budget is None else _budget


def available() -> int:
    """What planned work may still allocate: the budget less what the process uses now, and no more
    than the machine has free (other processes' memory is not ours to plan with)."""
    return max(0, min(budget() - used_bytes(), free_bytes()))


def free_bytes() -> int:
    """The machine's available memory (MemAvailable); no bound where /proc is missing."""
    free = _proc_bytes("/proc/meminfo", "MemAvailable:")
    return physical_bytes() if free is None else free


def _proc_bytes(path: str, key: str) -> int | None:
    """The value of a `key: N kB` line of a /proc file, in bytes; None where there is none."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def describe(nbytes: float) -> str:
    """A size for messages: 1.5 GiB, 320 MiB."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} B"


def out_of_memory(error: MemoryError) -> str:
    """The reason of an answer given up for memory: the budget, and what ran out when it says."""
    detail = str(error)
    return f"{OUT_OF_MEMORY} under the budget of {describe(budget())}" + (f": {detail}" if detail else "")


def from_option(text: str | None, *, here: bool, option: str = "--memory") -> int | None:
    """The option's size in bytes (None when not given); with `here` (the work runs in this process)
    the process is held to it, or to `default_budget()` when it is not given."""
    nbytes = None if text is None else parse_size(text, option)
    if here:
        limit(nbytes or default_budget(), option)
    return nbytes
