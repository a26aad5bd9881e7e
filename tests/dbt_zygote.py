"""dbt commands for the tests, started warm: a process that has imported dbt, the adapter, the
project's plugin and the libraries its Python models use (about 2 s of every ``dbt`` process)
and forks a child per command. The child is the CLI itself: it takes the command's folder,
environment and arguments, writes its stdout and stderr to the files it is given, runs
``dbt.cli.main.cli`` as the ``dbt`` script does, and exits as that process would (atexit
handlers, DuckDB closing its files). Only the imports are shared (and so the string-hash seed):
nothing runs before the fork.

Protocol (one JSON object per line): ``{"argv", "cwd", "env", "stdout", "stderr"}`` on stdin,
``{"returncode"}`` on stdout (negative: killed by that signal, as subprocess reports it).
helpers.run_dbt starts one per test process; the test that kills a build half-way runs the
``dbt`` script instead, as do the product's own commands (the upload, ``custseg score``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

# what a build imports, heaviest first (python -X importtime over a demo build)
PRELOAD = (
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.parser.manifest",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "custseg.dbt_plugin",
    "custseg.segmentation.step",
    "custseg.value.registry",
    "custseg.relations",
    "pyarrow.dataset",
)


def _child(request: dict) -> None:
    """Runs in the forked child and never returns: the command, then the interpreter's exit."""
    code: int | str | None = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = list(request["argv"])
        from dbt.cli.main import cli

        cli(sys.argv[1:], prog_name="dbt")  # click's standalone mode: always SystemExit
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # reported in the command's stderr, as an uncaught error would be
        import traceback

        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)


def serve(script_folder: str) -> None:
    # the path a ``dbt`` script starts with: its own folder first, not this one (tests/ holds
    # modules named like anyone's: helpers, conftest)
    sys.path[0] = script_folder
    replies = os.fdopen(os.dup(1), "w")  # not inherited: a child's JVM never holds it open
    os.dup2(2, 1)  # whatever an import prints goes to the log, never into the replies
    for name in PRELOAD:
        importlib.import_module(name)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
