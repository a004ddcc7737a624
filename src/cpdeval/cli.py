"""The ``cpdeval`` command line: analyst tools around the pipeline.

    cpdeval synth --size small|national DIR     generate a synthetic reporting year
    cpdeval synth-bookings --register GIAS.csv --years 2016-17 2017-18 2018-19 DIR
                                                 synthetic bookings, reference data and surveys for
                                                 the schools of a real GIAS register
    cpdeval validate FILE --as KIND              check one export before a run
    cpdeval describe [--configfile FILE]         inputs a config expects and whether each is present

The pipeline itself runs with ``snakemake --cores 4`` (see README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import CpdevalError

KINDS = ["bookings", "trained_leaders", "partnerships", "targets", "feedback_coded", "register", "links",
         "ks4", "ks2", "survey:<instrument>"]


def _synth(args) -> int:
    from .synthetic import generate

    manifest = generate(args.out_dir, size=args.size, seed=args.seed)
    files = manifest.get("files", manifest) if isinstance(manifest, dict) else manifest
    print(f"wrote the {args.size} synthetic year to {args.out_dir} ({len(files)} files)")
    return 0


def _synth_bookings(args) -> int:
    import re

    from .synthetic.real_register import bookings_for_register

    # `--years 2016-17 2017-18 OUT_DIR`: the list option takes the directory too; give it back
    if args.out_dir is None and len(args.years) > 1 and not re.match(r"^\d{4}-\d{2}$", args.years[-1]):
        args.out_dir = args.years.pop()
    if args.out_dir is None:
        raise CpdevalError("synth-bookings needs an output directory (after the years, or before --years)")
    try:
        manifest = bookings_for_register(args.register, args.out_dir, financial_years=args.years, seed=args.seed,
                                         encoding=args.encoding, bookings_per_year=args.bookings_per_year)
    except (ValueError, OSError) as exc:
        raise CpdevalError(str(exc)) from None
    n_book = sum(f["rows"] or 0 for f in manifest["files"] if f["path"].startswith("bookings/"))
    print(f"wrote {len(manifest['files'])} files to {args.out_dir}: {n_book:,} bookings for "
          f"{manifest['schools']} schools of {Path(args.register).name}, financial years "
          f"{', '.join(manifest['financial_years'])}")
    return 0


def _validate(args) -> int:
    import polars as pl

    from .contracts import ingest_generic_csv, load_contract

    kind, path = args.kind, args.file
    if kind.startswith("survey:"):
        from .ingest.surveys import read_survey

        result, _ = read_survey(path, kind.split(":", 1)[1])
    elif kind in ("bookings", "trained_leaders"):
        from .ingest import bookings as b

        reader = b.read_bookings if kind == "bookings" else b.read_trained_leaders
        key = b"cpdeval-validate-only"  # ids are hashed but nothing is written
        result = reader([path], key) if kind == "bookings" else reader(path, key)
    elif kind in ("register", "links"):
        from .ingest.register_validate import ingest_links, ingest_schools

        result = ingest_schools(path, None, encoding=args.encoding) if kind == "register" else \
            ingest_links(path, encoding=args.encoding)
    elif kind in ("ks4", "ks2"):
        from .ingest.attainment import ingest_attainment

        if not args.academic_year:
            raise CpdevalError("performance tables need --academic-year (e.g. 2018-19)")
        result = ingest_attainment({args.academic_year: path}, kind)
    elif kind in ("partnerships", "targets", "feedback_coded"):
        result = ingest_generic_csv([path], load_contract(kind))
    else:
        raise CpdevalError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    for r in result.reconciliation:
        print(f"{Path(r.source_file).name}: {r.rows_in} rows in, {r.rows_accepted} would be accepted, "
              f"{r.rows_quarantined} quarantined" + (f", {r.rows_set_aside} set aside ({r.set_aside_reason})"
                                                      if r.rows_set_aside else ""))
    q = result.quarantine
    if q.height:
        print("\nWhat would be quarantined (rule, column, rows, first rows):")
        summary = (q.group_by(["column", "rule"], maintain_order=True)
                   .agg(pl.len().alias("rows"), pl.col("source_row").head(5).alias("first_rows"))
                   .sort("rows", descending=True))
        for row in summary.iter_rows(named=True):
            rows = ", ".join(map(str, row["first_rows"]))
            print(f"  - {row['column']}: {row['rule']} — {row['rows']} row(s), e.g. row {rows}")
        return 1
    print("no problems found")
    return 0


def _describe(args) -> int:
    from .config import RunConfig

    run = RunConfig.load(args.configfile, root=Path.cwd())  # paths are relative to where the pipeline runs
    print(f"reporting year {run.year}" + (" (synthetic: generated by the pipeline when missing)"
                                           if run.is_synthetic else ""))
    missing = 0
    for f in run.configured_input_files():
        present = (run.root / f).exists() if not Path(f).is_absolute() else Path(f).exists()
        missing += not present
        print(f"  [{'ok' if present else 'missing'}] {f}")
    print(f"{missing} missing input file(s)")
    return 0 if (missing == 0 or run.is_synthetic) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cpdeval", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="generate a synthetic reporting year")
    p.add_argument("out_dir")
    p.add_argument("--size", choices=["small", "national"], default="small")
    p.add_argument("--seed", type=int, default=20190401)
    p.set_defaults(func=_synth)
    p = sub.add_parser("synth-bookings",
                       help="synthetic bookings, reference data and surveys for the schools of a real GIAS register")
    p.add_argument("out_dir", nargs="?", default=None)
    p.add_argument("--register", required=True, help="GIAS establishment extract (edubasealldata*.csv)")
    p.add_argument("--years", nargs="+", required=True, metavar="FY",
                   help="financial years to generate, e.g. 2016-17 2017-18 2018-19 (the last is the reporting year)")
    p.add_argument("--seed", type=int, default=20190401)
    p.add_argument("--encoding", default="cp1252", help="encoding of the GIAS file (default cp1252)")
    p.add_argument("--bookings-per-year", type=int, default=None,
                   help="average bookings a year (default: 8 per selected school)")
    p.set_defaults(func=_synth_bookings)
    p = sub.add_parser("validate", help="check one export and report what would be quarantined")
    p.add_argument("file")
    p.add_argument("--as", dest="kind", required=True, help=f"kind of file: {', '.join(KINDS)}")
    p.add_argument("--academic-year", help="academic year of a performance table, e.g. 2018-19")
    p.add_argument("--encoding", default="cp1252", help="encoding of a GIAS file (default cp1252)")
    p.set_defaults(func=_validate)
    p = sub.add_parser("describe", help="inputs a config expects and whether each is present")
    p.add_argument("--configfile", default=None, help="config file (default config/config.yaml)")
    p.set_defaults(func=_describe)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CpdevalError as exc:
        print(f"cpdeval: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
