"""The mutation check: break the code in small, named ways, one at a time, and prove that a
test notices each (KILLED) or report the ones no test notices (SURVIVED).

    python3 tests/mutation/run.py [--only NAME ...] [--list] [--no-baseline]

Every `tests/mutation/mutations_*.py` defines `MUTATIONS`, a list of dicts with `name`,
`path` (relative to the repository root), `old` (exact text that must occur once in the
file), `new` (its replacement) and `tests` (pytest node ids or paths; at least one must fail
with the mutation applied). The working tree is never touched: the files git knows (with
their uncommitted changes) are copied to a temporary directory once, each mutation is
applied there and undone in a `finally`, and pytest runs in the copy with PYTHONPATH set
to it. First the tests run on the unmutated copy (the baseline): a test that fails already
would make every mutation look killed. Exit code 0 when every mutation is killed, 1 when
one survives, 2 when a mutation file is malformed or the baseline fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("name", "path", "old", "new", "tests")
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
TIMEOUT_S = 1200  # one mutation's tests; a hang (e.g. a limit ignored) counts as killed


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    source: str  # the mutations file that declares it


def load_mutations(root: Path = ROOT) -> list[Mutation]:
    """Every mutation of every tests/mutation/mutations_*.py, in file order."""
    found = []
    for file in sorted((root / "tests" / "mutation").glob("mutations_*.py")):
        spec = importlib.util.spec_from_file_location(f"_mutations_{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for entry in module.MUTATIONS:
            missing = [k for k in KEYS if k not in entry]
            if missing:
                raise SystemExit(f"{file.name}: {entry.get('name', entry)!r} lacks {missing}")
            found.append(
                Mutation(
                    entry["name"],
                    entry["path"],
                    entry["old"],
                    entry["new"],
                    tuple(entry["tests"]),
                    file.name,
                )
            )
    return found


def problems(mutations: list[Mutation], root: Path = ROOT) -> list[str]:
    """What makes a mutation unusable: a duplicate name, a missing file or test, an `old`
    that does not occur exactly once, a `new` equal to `old`."""
    out = []
    seen: set[str] = set()
    for m in mutations:
        where = f"{m.source}: {m.name}"
        if m.name in seen:
            out.append(f"{where}: the name is used twice")
        seen.add(m.name)
        target = root / m.path
        if not target.is_file():
            out.append(f"{where}: {m.path} does not exist")
            continue
        count = target.read_text().count(m.old)
        if count != 1:
            out.append(f"{where}: `old` occurs {count} times in {m.path}, not once")
        if m.old == m.new:
            out.append(f"{where}: `new` is the same as `old`")
        if not m.tests:
            out.append(f"{where}: no tests named")
        for test in m.tests:
            if not _test_exists(root, test):
                out.append(f"{where}: test {test} does not exist")
    return out


def _test_exists(root: Path, test: str) -> bool:
    """The file exists and, for a node id, defines the test function it names."""
    file, *names = test.split("::")
    if not (root / file).exists():
        return False
    if not names:
        return True
    name = re.escape(names[-1].split("[")[0])
    return re.search(rf"def {name}\(", (root / file).read_text()) is not None


def copy_repo(root: Path, dest: Path) -> None:
    """The files git knows or would add (tracked and untracked, not ignored), as they are."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = root / rel
        if src.is_file():  # a deleted but still tracked file is skipped
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    """(pytest's exit code, its output); exit code -1 on a time-out."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            [*PYTEST, *tests],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return -1, out
    return done.returncode, done.stdout + done.stderr


def first_failure(output: str) -> str:
    """The node id pytest's summary names first (FAILED or ERROR)."""
    match = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return match.group(1) if match else "(no test named; see the output)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run this one (repeat)")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip running the tests unmutated first"
    )
    args = parser.parse_args(argv)

    mutations = load_mutations()
    bad = problems(mutations)
    if bad:
        print("malformed mutations:\n  " + "\n  ".join(bad))
        return 2
    if args.only:
        unknown = set(args.only) - {m.name for m in mutations}
        if unknown:
            print(f"no mutation named {', '.join(sorted(unknown))} (see --list)")
            return 2
        mutations = [m for m in mutations if m.name in args.only]
    if args.list:
        for m in mutations:
            print(f"{m.name:40} {m.path:36} {' '.join(m.tests)}")
        return 0

    with tempfile.TemporaryDirectory(prefix="sadeem-mutants-") as tmp:
        copy = Path(tmp)
        copy_repo(ROOT, copy)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in mutations for t in m.tests))
            print(f"baseline: {len(tests)} test targets, unmutated ...", flush=True)
            code, output = run_tests(copy, tests)
            if code != 0:
                print(output[-4000:])
                print(f"baseline failed ({first_failure(output)}): fix that first")
                return 2
        results = []
        for m in mutations:
            target = copy / m.path
            original = target.read_text()
            started = time.monotonic()
            try:
                target.write_text(original.replace(m.old, m.new, 1))
                code, output = run_tests(copy, m.tests)
            finally:
                target.write_text(original)
            seconds = time.monotonic() - started
            if code == 0:
                verdict, why = "SURVIVED", "every test passed"
            elif code == -1:
                verdict, why = "KILLED", f"time-out after {TIMEOUT_S}s"
            elif code == 1 or (code == 2 and "ERROR collecting" in output):
                verdict, why = "KILLED", first_failure(output)  # a failure, or no import
            else:  # 2..5: interrupted, internal error, usage, nothing collected
                verdict, why = "ERROR", f"pytest exit {code}: {output.strip()[-300:]}"
            results.append((m.name, verdict, why, seconds))
            print(f"{verdict:8} {m.name:40} {seconds:6.1f}s  {why}", flush=True)

    print("\n| mutation | result | caught by | s |\n| --- | --- | --- | --- |")
    for name, verdict, why, seconds in results:
        print(f"| {name} | {verdict} | {why} | {seconds:.0f} |")
    survived = [r for r in results if r[1] != "KILLED"]
    print(f"\n{len(results) - len(survived)} of {len(results)} killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
