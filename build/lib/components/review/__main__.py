"""Who may do what, from the program's declared resources (no database, no Pulumi backend).

    python -m components.review access --stack dev
        the access matrix of the working tree's dev stack, as a table per table and view
    python -m components.review access-diff --stack dev --base origin/main [--head HEAD]
        what changes between two git revisions (default head: the working tree), as Markdown
"""

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import PgstackError
from ..stack.program import project_dir
from .access import access_matrix
from .report import diff, render_diff, render_matrix
from .revisions import commit_of, record_revision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    access = commands.add_parser("access", help="print a stack's access matrix")
    changes = commands.add_parser("access-diff", help="print how access changes between two revisions (Markdown)")
    for command in (access, changes):
        command.add_argument("--stack", required=True, help="the stack: its Pulumi.<stack>.yaml is read")
        command.add_argument("--project", type=Path, default=None, help="the project folder (default: found from "
                                                                         "the working directory)")
    access.add_argument("--revision", default=None, help="a git revision (default: the working tree)")
    changes.add_argument("--base", required=True, help="the git revision to compare from")
    changes.add_argument("--head", default=None, help="the git revision to compare to (default: the working tree)")
    args = parser.parse_args(argv)

    try:
        project = (args.project or project_dir()).resolve()
        if args.command == "access":
            print(render_matrix(access_matrix(args.stack, record_revision(project, args.revision, args.stack))))
            return 0
        labels = [commit_of(project, rev)[:12] if rev else "working tree" for rev in (args.base, args.head)]
        with ThreadPoolExecutor(2) as pool:  # each revision's program runs in its own process
            runs = [pool.submit(record_revision, project, revision, args.stack) for revision in (args.base, args.head)]
            base, head = (access_matrix(args.stack, run.result()) for run in runs)
        print(render_diff(args.stack, labels[0], labels[1], diff(base, head)), end="")
    except PgstackError as err:
        print(f"review: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
