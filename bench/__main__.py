"""``python -m bench [NAME ...]``: run the named benchmarks, or all of them."""

from __future__ import annotations

import sys
from importlib import import_module

#: Every benchmark: name -> module with ``main() -> int``.  Add yours here.
BENCHES = {
    "convert": "bench.bench_convert",
    "batch": "bench.bench_batch",
    "inspect": "bench.bench_inspect",
    "prepare": "bench.bench_prepare",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        print(f"python -m bench: unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    missed = 0
    for name in names:
        missed |= import_module(BENCHES[name]).main()
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
