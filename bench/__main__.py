"""Run the benchmarks: `.venv/bin/python -m bench [P1 P2 P3 P4 P5] [--runs N] [--sizes ...]`.

Each figure is printed on one line with its target and whether it is met; nothing is asserted.
Everything runs on a PostgreSQL server of its own, started for the run and removed after it.
"""

import argparse
import sys
import time

from .harness import figure, load, machine, server

SECTIONS = ("P1", "P2", "P3", "P4", "P5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], metavar="P1..P5",
                        help="which benchmarks (default: all)")
    parser.add_argument("--runs", type=int, default=2, help="P1, P2: runs of each, the best shown (default 2)")
    parser.add_argument("--sizes", default="100,500,2000", help="P5: tables per synthetic module (default "
                        "100,500,2000; add 5000 when the machine has the time)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="P3, P4: rows of the big tables")
    args = parser.parse_args()
    sections = args.sections or list(SECTIONS)
    started = time.perf_counter()
    print(f"machine: {machine()}; {load()}", flush=True)
    with server() as conninfo:
        engine = database = None
        if "P1" in sections or "P2" in sections or "P4" in sections:
            from .deploy import p1, p2
            engine, database = p1(conninfo, args.runs if "P1" in sections else 1)
            if "P2" in sections:
                p2(engine, database, args.runs)
        if "P3" in sections:
            from .online import p3
            p3(conninfo, args.rows)
        if "P4" in sections:
            from .rls import p4
            p4(database, args.rows)
        if engine is not None:
            engine.close()
        if "P5" in sections:
            from .scale import p5
            p5(conninfo, [int(n) for n in args.sizes.split(",")])
    figure("all", "benchmarks ran in", f"{time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    sys.exit(main())
