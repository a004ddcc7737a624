"""Command line: ``python -m cpdeval.synthetic [--size small|national] [--seed N] [--config FILE] OUT_DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from . import SIZES, generate
    from ._common import load_yaml

    ap = argparse.ArgumentParser(prog="python -m cpdeval.synthetic",
                                 description="Generate a synthetic reporting year (see data/raw/README.md).")
    ap.add_argument("out_dir", type=Path, help="folder to write (e.g. data/raw/synthetic)")
    ap.add_argument("--size", choices=sorted(SIZES), default=None, help="default: the config's synthetic.size")
    ap.add_argument("--seed", type=int, default=None, help="default: the config's synthetic.seed")
    ap.add_argument("--config", type=Path, default=None, help="run configuration (default config/config.yaml)")
    args = ap.parse_args(argv)
    cfg = load_yaml(args.config) if args.config else None
    manifest = generate(args.out_dir, size=args.size, seed=args.seed, config=cfg,
                        progress=lambda msg: print(msg, flush=True))
    print(f"wrote {len(manifest['files'])} files and manifest.json to {args.out_dir} "
          f"(size {manifest['size']}, seed {manifest['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
