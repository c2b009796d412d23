"""Run one benchmark: ``python -m bench NAME [--json FILE] [options of that benchmark]``.

A benchmark is a module ``bench/NAME.py`` with ``add_arguments(parser)`` (optional) and
``run(args) -> dict[str, float]``. The result is printed as a table and written as
``{"bench": NAME, "metrics": {...}}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import bench


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=names, help="which benchmark")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    known, _ = parser.parse_known_args(argv)
    module = importlib.import_module(f"bench.{known.name}")
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    metrics: dict[str, float] = module.run(args)
    width = max(len(k) for k in metrics) if metrics else 0
    print(f"bench {args.name}")
    for key, value in metrics.items():
        print(f"  {key:<{width}}  {value:,.4g}" if isinstance(value, float) else f"  {key:<{width}}  {value}")
    result = {"bench": args.name, "metrics": metrics}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
