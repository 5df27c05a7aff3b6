"""The ``lsq`` command line: ``lsq fit DATA.csv --model gaussian`` (report and plot), ``lsq compile`` (fill numba's
cache ahead, :mod:`lsq.compile`), ``lsq bench``."""

import argparse
import csv
import sys

import numpy as np

__all__ = ["main"]


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


def read_table(path):
    """Read a CSV file into ``(header or None, columns as float arrays)``; the header row is optional."""
    try:
        with open(path, newline="") as fh:
            rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise CliError(f"cannot read data file {path!r}: {exc.strerror or exc}") from exc
    if not rows:
        raise CliError(f"data file {path!r} is empty")

    def numeric(row):
        try:
            [float(cell) for cell in row]
            return True
        except ValueError:
            return False

    header = None
    if not numeric(rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
    if not rows:
        raise CliError(f"data file {path!r} has a header but no data rows")
    width = len(rows[0])
    for k, row in enumerate(rows):
        if len(row) != width or not numeric(row):
            raise CliError(f"data file {path!r}: row {k + 1 + (header is not None)} is not {width} numbers")
    data = np.array([[float(cell) for cell in row] for row in rows])
    return header, data.T


def pick_column(spec, header, columns, what):
    """Column by header name or 0-based index."""
    if spec is None:
        return None
    if header is not None and spec in header:
        return columns[header.index(spec)]
    try:
        k = int(spec)
    except ValueError:
        names = f"; columns are {header}" if header else " (the file has no header: use 0-based indices)"
        raise CliError(f"unknown {what} column {spec!r}{names}") from None
    if not 0 <= k < len(columns):
        raise CliError(f"{what} column index {k} out of range: the file has {len(columns)} columns")
    return columns[k]


def parse_p0(text, names):
    """``'a=1,mu=0'`` -> dict; names are checked against the model's."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise CliError(f"--p0 entries must be name=value, got {item!r}")
        if key not in names:
            raise CliError(f"--p0 names unknown parameter {key!r}; the model has {list(names)}")
        try:
            out[key] = float(value)
        except ValueError:
            raise CliError(f"--p0 value for {key!r} is not a number: {value!r}") from None
    return out


def run_fit(args):
    from . import models
    from .fit import fit

    if args.model.startswith("polynomial"):
        try:
            model = models.polynomial(int(args.model[len("polynomial"):] or 2))
        except ValueError:
            raise CliError(f"unknown model {args.model!r}; polynomials are named polynomial<deg>") from None
    elif args.model in models.BUILTIN:
        model = models.BUILTIN[args.model]
    else:
        raise CliError(f"unknown model {args.model!r}; built-in models are {sorted(models.BUILTIN)} and "
                       "polynomial<deg>")
    header, columns = read_table(args.data)
    if model.x_ndim == 2:
        raise CliError(f"model {args.model!r} needs 2-D x; the command line fits 1-D data")
    x = pick_column(args.x, header, columns, "x")
    y = pick_column(args.y, header, columns, "y")
    sigma = pick_column(args.sigma, header, columns, "sigma")
    p0 = parse_p0(args.p0, model.param_names)
    try:
        result = fit(model, x, y, p0=p0, sigma=sigma, method=args.method, estimator=args.estimator)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from exc
    print(result.report())
    if args.plot:
        fig = result.plot()
        try:
            fig.savefig(args.plot, dpi=120)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot write plot {args.plot!r}: {exc}") from exc
        print(f"plot written to {args.plot}")
    return 0 if result.success else 1


def run_bench(args):
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        raise CliError("the benchmark suite lives in the source tree: run `lsq bench` (or `python -m benchmarks`) "
                       "from a clone of the repository") from None
    return bench_main(args.bench_args)


def build_parser():
    parser = argparse.ArgumentParser(prog="lsq", description="Nonlinear least-squares fitting.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="fit a built-in model to columns of a CSV file and print a report")
    p.add_argument("data", help="CSV file (header row optional)")
    p.add_argument("--model", required=True, help="built-in model name, e.g. gaussian, exponential, polynomial3")
    p.add_argument("--x", default="0", help="x column: header name or 0-based index (default 0)")
    p.add_argument("--y", default="1", help="y column: header name or 0-based index (default 1)")
    p.add_argument("--sigma", default=None, help="column of standard deviations of y (optional)")
    p.add_argument("--p0", default=None, help="starting values, e.g. amplitude=1,center=0 (default: guess)")
    p.add_argument("--method", default="lm", help="lm (default), levenberg or gn")
    p.add_argument("--estimator", default="least_squares", choices=("least_squares", "poisson"),
                   help="least_squares (default), or poisson: maximum likelihood for counts")
    p.add_argument("--plot", default=None, help="write a plot of the fit to this PNG file")
    p.set_defaults(run=run_fit)
    # handled in main (its options are python -m lsq.compile's); listed here for `lsq --help`
    sub.add_parser("compile", help="compile the kernels of the common paths into numba's cache (for images, CI)")
    b = sub.add_parser("bench", help="run the benchmark suite (same options as python -m benchmarks)")
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(run=run_bench)
    return parser


def main(argv=None):
    """Entry point of the ``lsq`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compile"]:  # every option, --help included, is python -m lsq.compile's
        from .compile import main as compile_main

        return compile_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        print(f"lsq {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
