"""``mderive``: run a derivation from a file or standard input.

    mderive derivation.txt --layout numerator --format latex --check
    echo 'x : n; A : n x n; ∂(x^T A x)/∂x' | mderive
"""

from __future__ import annotations

import argparse
import sys

LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mderive",
        description="Derive gradients, Jacobians and Hessians of a matrix-calculus derivation.",
    )
    p.add_argument("file", nargs="?", help="derivation file (default: standard input)")
    p.add_argument("-l", "--layout", choices=LAYOUTS, default="shape", help="layout (default: shape)")
    p.add_argument("-f", "--format", choices=("text", "latex", "numpy"), default="text",
                   help="output format (default: text)")
    p.add_argument("--all-layouts", action="store_true", help="print every layout")
    p.add_argument("--check", action="store_true", help="verify each result with finite differences")
    p.add_argument("--steps", choices=("differentials", "backprop"), help="show the derivation steps")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .api import derive
    from .errors import MatcalcError

    try:
        text = open(args.file, encoding="utf-8").read() if args.file else sys.stdin.read()
    except OSError as e:
        print(f"mderive: {e}", file=sys.stderr)
        return 2
    if text.lstrip().startswith("%%mderive"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        results = derive(text, args.layout)
        failed = False
        for r in results:
            for layout in (LAYOUTS if args.all_layouts else (args.layout,)):
                v = r.view(layout)
                if args.format == "latex":
                    print(v.latex)
                elif args.format == "numpy":
                    print(v.numpy_code)
                else:
                    print(v.text + (f"    [{layout}, {'×'.join(v.shape) or 'scalar'}]" if args.all_layouts else ""))
            if r.note and args.format == "text":
                print(f"    {r.note}")
            if args.steps:
                for step in r.steps(args.steps):
                    print("   ", step.latex if args.format == "latex" else step.text, f"   ({step.rule})" if step.rule else "")
            if args.check:
                report = r.check()
                failed |= not report.ok
                print(f"    {report.badge} ({report.points} random points)")
        if results.cell.claims:
            from .claims import check_claims

            for verdict in check_claims(results, args.layout):
                failed |= not verdict.ok
                print(f"{verdict.claim_text}\n    {verdict.badge}")
        return 1 if failed else 0
    except MatcalcError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
