"""dbt commands for the tests, started warm: a process that has imported dbt, the adapter, the
project's plugin and the libraries its Python models use (about 2 s of every ``dbt`` process)
and forks a child per command. The child is the CLI itself: it takes the command's folder,
environment and arguments, writes its stdout and stderr to the files it is given, runs
``dbt.cli.main.cli`` as the ``dbt`` script does, and exits as that process would (atexit
handlers, DuckDB closing its files). Only the imports are shared (and so the string-hash seed),
and the JSON schemas dbt caches per process (SCHEMAS): nothing of a command runs before the
fork.

Several commands may run in turn in one child, as dbtRunner runs them in one process: what dbt
keeps per process is then shared (on target spark, the SparkSession and its JVM: a few seconds
and a core's worth of start-up each; the session's metastore and tables stay the first
command's).

Protocol (one JSON object per line): ``{"commands": [{"argv", "cwd", "env", "stdout",
"stderr"}, ...], "returncodes": <file>, "stay": false}`` on stdin; the child writes each
command's exit code to that file (a JSON list) and exits with the last one; ``{"returncode"}``
on stdout is the child's exit status (negative: killed by that signal, as subprocess reports
it). With ``"stay": true`` the child answers ``{"returncode"}`` itself and stays, the same
process, for the next request (the test may look at what the commands wrote in between); the
first request without it ends the child as above. ``"pid_file"``: where the child's pid is
written once it is forked (a test that kills a build half-way, helpers.run_dbt_killed).
helpers.run_dbt starts one per test process; the product's own commands (the upload, ``custseg
score``) run the ``dbt`` script.
"""

from __future__ import annotations

import gc
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


# the classes whose JSON schema dbt builds to validate a project, a profile and its nodes (about
# 1 s of every dbt process): dbt caches each (functools.lru_cache on json_schema, a function of
# the class alone), so they are built here, once, before any fork. A name a dbt release no longer
# has is skipped: this is a cache, never a change to what a command does.
SCHEMAS = (
    "dbt.contracts.project.ProjectFlags",
    "dbt.adapters.duckdb.credentials.DuckDBCredentials",
    "dbt.contracts.project.ProfileConfig",
    "dbt.contracts.project.Project",
    "dbt.contracts.project.PackageConfig",
    "dbt.contracts.selection.SelectorFile",
    "dbt.contracts.project.Configuration",
    "dbt.artifacts.resources.v1.model.ModelConfig",
    "dbt.contracts.graph.nodes.ModelNode",
    "dbt.artifacts.resources.v1.components.Contract",
    "dbt.artifacts.resources.v1.config.NodeConfig",
    "dbt.contracts.graph.nodes.AnalysisNode",
    "dbt.artifacts.resources.v1.config.TestConfig",
    "dbt.contracts.graph.nodes.SingularTestNode",
    "dbt.artifacts.resources.v1.seed.SeedConfig",
    "dbt.contracts.graph.nodes.SeedNode",
    "dbt.contracts.graph.nodes.HookNode",
    "dbt.contracts.graph.unparsed.UnparsedNodeUpdate",
    "dbt.contracts.graph.nodes.GenericTestNode",
    "dbt.contracts.graph.unparsed.UnparsedModelUpdate",
    "dbt.contracts.graph.unparsed.UnparsedExposure",
    "dbt.artifacts.resources.v1.exposure.ExposureConfig",
    "dbt.contracts.graph.unparsed.UnparsedUnitTest",
    "dbt.artifacts.resources.v1.unit_test_definition.UnitTestConfig",
)


def _build_schemas() -> None:
    for path in SCHEMAS:
        module, _, name = path.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if found is not None and hasattr(found, "json_schema"):
            found.json_schema()


def _child(request: dict, replies) -> None:
    """Runs in the forked child and never returns: the commands of each request (the next read
    from the requests' pipe while the last said ``stay``), then the interpreter's exit."""
    requests = os.fdopen(os.dup(0), "r")  # each command's stdin is /dev/null
    while True:
        codes = []
        for command in request["commands"]:
            codes.append(_command(command))
            with open(request["returncodes"], "w") as out:
                json.dump(codes, out)
        code = codes[-1] if codes else 0
        if not request.get("stay"):
            raise SystemExit(code)
        replies.write(json.dumps({"returncode": code}) + "\n")
        replies.flush()
        line = requests.readline()
        if not line:  # the test process is gone
            raise SystemExit(code)
        request = json.loads(line)


def _command(request: dict) -> int:
    """One dbt command in this process: its folder, environment, output files and arguments."""
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
    return code if isinstance(code, int) else (0 if code is None else 1)


def serve(script_folder: str) -> None:
    # the path a ``dbt`` script starts with: its own folder first, not this one (tests/ holds
    # modules named like anyone's: helpers, conftest)
    sys.path[0] = script_folder
    replies = os.fdopen(os.dup(1), "w")  # not inherited: a child's JVM never holds it open
    os.dup2(2, 1)  # whatever an import prints goes to the log, never into the replies
    for name in PRELOAD:
        importlib.import_module(name)
    _build_schemas()
    # what the imports made lives as long as any child: moved out of the cyclic collector's
    # reach, so a child's collections do not walk it again and again (about 1 s of an 11.5 s
    # warm demo build, docs/benchmarks.md). The child's own objects are collected as before.
    gc.freeze()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, replies)
        if request.get("pid_file"):  # for a test that kills the command half-way
            with open(request["pid_file"], "w") as out:
                out.write(str(pid))
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
