#!/usr/bin/env python3
"""Time target-sequenced (and installed peer targets) on generated inputs and check the tables.

Run through bench/run.sh, which makes the project's virtualenv first:

  bench/run.sh [--scenarios b,c,b-pg,d] [--runs 3] [--peers auto|none] [--warmup 0]
               [--duckdb-url-query memory_limit=128MB]

Scenarios (a "-pg" suffix loads into PostgreSQL instead of DuckDB, e.g. b-pg, c-pg, d-pg):
  b    200,000 records, 50,000 keys, versions in random order, 8 simple columns
  c    50,000 records, 12,500 keys, in order, 30 wide columns (JSON, date-times, awkward strings)
  d    b's shape at 500,000 / 1,000,000 / 2,000,000 records (keys = records / 4): peak memory
       as the input grows
  tap  b's records and order, but the SCHEMA a real tap sends (Draft 4: anyOf, enum,
       multipleOf, minimum/maximum, exclusive bounds, maxLength, pattern, required,
       additionalProperties false, $ref to definitions): bench/variants.py
  api  b's records and order as Stitch Import API batches (20,000 messages each, the sequence
       in the message): target-sequenced only, the peers read Singer messages only
tap and api end with b's table; the report gives their records/s as a ratio of b's in the same
run when b is in it.

Each loader runs as a whole process, `LOADER --config cfg.json < input > /dev/null`, from an
empty destination (DuckDB file deleted, PostgreSQL schema dropped and created); the time is the
wall time of that process, the peak is its own max RSS (os.wait4). Every run's table is checked
against the expected file (bench/check.py). One markdown table goes to stdout, progress and
notes to stderr. Exit status 1 when target-sequenced leaves any key incorrect or fails.

Environment:
  BENCH_DIR   inputs, databases and logs (default /tmp/target-sequenced-bench)
  PEERS       peer virtualenvs made by bench/setup_peers.sh
              (default ~/.cache/target-sequenced-bench/peers)
  TARGET_SEQUENCED_BENCH_PG_URL  use this PostgreSQL server instead of starting a throwaway one
              (its schema "target_sequenced_bench" is dropped and re-created for every run)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import typing as t
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import check

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG_SCHEMA = "target_sequenced_bench"
PG_URL_ENV = "TARGET_SEQUENCED_BENCH_PG_URL"
US = "target-sequenced"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ scenarios
FORMS = ("singer", "tap", "api")  # generate.py's stream as it is, or rewritten by variants.py


@dataclass(frozen=True)
class Input:
    """Arguments of one generated input."""

    records: int
    keys: int
    shuffle: bool
    wide: bool
    seed: int = 1
    form: str = "singer"  # one of FORMS

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"unknown input form {self.form!r} (known: {', '.join(FORMS)})")

    def generator_args(self) -> list[str]:
        args = ["--records", str(self.records), "--keys", str(self.keys), "--seed", str(self.seed)]
        return args + (["--shuffle"] if self.shuffle else []) + (["--wide"] if self.wide else [])

    def stem(self) -> str:
        """File name stem: the parameters and a digest of the generator's source."""
        stem = (
            f"{'wide' if self.wide else 'simple'}-{self.records}r-{self.keys}k-"
            f"{'shuffled' if self.shuffle else 'ordered'}-seed{self.seed}-{_digest('generate.py')}"
        )
        return stem if self.form == "singer" else f"{stem}-{self.form}-{_digest('variants.py')}"

    @property
    def source(self) -> Input:
        """The generated Singer stream this input is (or is rewritten from)."""
        return dataclasses.replace(self, form="singer")


def _digest(script: str) -> str:
    return hashlib.sha1((BENCH / script).read_bytes()).hexdigest()[:8]  # noqa: S324


@dataclass(frozen=True)
class Case:
    """One row group of the table: an input loaded into one backend."""

    label: str
    input: Input
    backend: str  # "duckdb" | "postgres"


def _sized(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def cases_of(name: str) -> list[Case]:
    base, _, suffix = name.partition("-")
    if suffix not in ("", "pg"):
        raise SystemExit(f"unknown scenario {name!r}")
    backend = "postgres" if suffix == "pg" else "duckdb"
    if base == "b":
        return [Case(name, Input(200_000, 50_000, shuffle=True, wide=False), backend)]
    if base == "c":
        return [Case(name, Input(50_000, 12_500, shuffle=False, wide=True), backend)]
    if base == "d":
        return [
            Case(f"{name} {_sized(n)}", Input(n, n // 4, shuffle=True, wide=False), backend)
            for n in (500_000, 1_000_000, 2_000_000)
        ]
    if base in ("tap", "api"):  # b's input in another form
        return [Case(name, Input(200_000, 50_000, shuffle=True, wide=False, form=base), backend)]
    raise SystemExit(f"unknown scenario {name!r} (known: b, c, d, tap, api, each also with -pg)")


def ensure_input(inp: Input, bench_dir: Path) -> tuple[Path, Path]:
    """Generate the stream and expected file once; later calls reuse them."""
    if inp.form != "singer":
        return ensure_variant(inp, bench_dir)
    folder = bench_dir / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    stream = folder / f"{inp.stem()}.singer.jsonl"
    expect = folder / f"{inp.stem()}.expect.jsonl"
    if stream.exists() and expect.exists():
        return stream, expect
    say(f"+ generating {stream.name}")
    tmp_stream, tmp_expect = stream.with_suffix(".tmp"), expect.with_suffix(".tmp")
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "generate.py"),
            *inp.generator_args(),
            "--out",
            str(tmp_stream),
            "--expect",
            str(tmp_expect),
        ],
        check=True,
    )
    tmp_expect.replace(expect)
    tmp_stream.replace(stream)
    return stream, expect


def ensure_variant(inp: Input, bench_dir: Path) -> tuple[Path, Path]:
    """Rewrite the source stream in inp's form once; the expected table is the source's."""
    source, expect = ensure_input(inp.source, bench_dir)
    stream = source.parent / f"{inp.stem()}.jsonl"
    if stream.exists():
        return stream, expect
    say(f"+ writing {stream.name}")
    tmp = stream.with_suffix(".tmp")
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "variants.py"),
            "--form",
            inp.form,
            "--source",
            str(source),
            "--out",
            str(tmp),
        ],
        check=True,
    )
    tmp.replace(stream)
    return stream, expect


# ------------------------------------------------------------------ destinations
@dataclass
class Postgres:
    """A PostgreSQL server to load into."""

    url: str  # SQLAlchemy form, postgresql+psycopg://...

    def reset(self) -> None:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(check.libpq_url(self.url), autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
            con.execute(f'CREATE SCHEMA "{PG_SCHEMA}"')

    def version(self) -> str:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(check.libpq_url(self.url), autocommit=True) as con:
            row = con.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"

    def parts(self) -> dict[str, t.Any]:
        u = urllib.parse.urlsplit(self.url)
        return {
            "host": u.hostname or "127.0.0.1",
            "port": u.port or 5432,
            "user": urllib.parse.unquote(u.username or "postgres"),
            "password": urllib.parse.unquote(u.password or ""),
            "database": u.path.lstrip("/") or "postgres",
        }


def sqlalchemy_pg_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


# ------------------------------------------------------------------ loaders
@dataclass(frozen=True)
class Loader:
    """A Singer target that can load one backend."""

    name: str
    backend: str
    executable: Path
    strict_sequence: bool = False  # must the stored _sdc_sequence be the record's?
    versions: str = ""
    script: tuple[str, ...] = ()  # arguments before --config (a peer run as `python SCRIPT`)

    def argv(self, config: Path) -> list[str]:
        return [str(self.executable), *self.script, "--config", str(config)]

    def reads(self, inp: Input) -> bool:
        """Whether the loader can read this input: only target-sequenced reads Import API."""
        return inp.form != "api" or self.name == US

    def config(self, dest: Path | Postgres, duckdb_query: str = "") -> dict[str, t.Any]:
        if self.name == US:
            query = f"?{duckdb_query}" if duckdb_query else ""
            url = dest.url if isinstance(dest, Postgres) else f"duckdb:///{dest}{query}"
            schema = PG_SCHEMA if isinstance(dest, Postgres) else "main"
            return {"sqlalchemy_url": url, "default_target_schema": schema}
        if self.name == "target-duckdb":
            return {"path": str(dest), "default_target_schema": "main"}
        if self.name == "target-postgres" and isinstance(dest, Postgres):
            return {**dest.parts(), "default_target_schema": PG_SCHEMA, "load_method": "upsert"}
        if self.name == "dlt":
            # two pipeline.run calls, the first and second half of the input (README)
            return {"path": str(dest), "dataset": "main", "loads": 2}
        raise ValueError(self.name)


PEER_SPECS = (  # name, backend, distributions whose versions are reported, script (or "")
    ("target-duckdb", "duckdb", ("target-duckdb", "duckdb"), ""),
    ("target-postgres", "postgres", ("meltanolabs-target-postgres", "singer-sdk"), ""),
    ("dlt", "duckdb", ("dlt", "duckdb", "pyarrow"), "peers/dlt_load.py"),
)


def find_peers(peers_dir: Path, notes: list[str]) -> list[Loader]:
    found = []
    for name, backend, dists, script in PEER_SPECS:
        python = peers_dir / name / "bin" / "python"
        # A Singer target is its own command; a library peer runs our script with its python.
        exe = python if script else peers_dir / name / "bin" / name
        if not exe.exists():
            notes.append(
                f"peer {name} not installed in {peers_dir} (bench/setup_peers.sh): skipped"
            )
            continue
        code = (
            "import importlib.metadata as m, sys\n"
            "print(' '.join(d + '==' + m.version(d) for d in sys.argv[1:]))"
        )
        out = subprocess.run(
            [str(python), "-c", code, *dists],
            capture_output=True,
            text=True,
            check=False,
        )
        if script and out.returncode:  # a venv without the library: not a usable peer
            notes.append(f"peer {name}: {python} lacks {', '.join(dists)}: skipped")
            continue
        args = (str(BENCH / script),) if script else ()
        found.append(Loader(name, backend, exe, versions=out.stdout.strip() or "?", script=args))
    return found


# ------------------------------------------------------------------ measuring
@dataclass
class Run:
    wall: float
    peak_mib: float
    exit_code: int
    result: check.Result


@dataclass
class Row:
    case: Case
    loader: Loader
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def records_per_s(self) -> float:
        return self.case.input.records / self.median

    @property
    def peak(self) -> float:
        return max(r.peak_mib for r in self.runs)

    @property
    def worst(self) -> check.Result:
        return max((r.result for r in self.runs), key=lambda r: (r.error is not None, r.bad))

    @property
    def failed(self) -> list[int]:
        return [r.exit_code for r in self.runs if r.exit_code]

    @property
    def correct(self) -> bool:
        return not self.failed and all(r.result.correct for r in self.runs)


class Launcher:
    """Runs loaders from bench/launch.py, kept small so that RSS figures are the loader's."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "launch.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.floor_mib = self.run(["/bin/true"], Path(os.devnull), Path(os.devnull))[1]

    def run(self, argv: list[str], stdin: Path, log: Path) -> tuple[float, float, int]:
        """Run argv with stdin from a file; return (wall s, the child's peak RSS MiB, exit code)."""
        if self.proc.stdin is None or self.proc.stdout is None:
            raise RuntimeError("launcher pipes missing")
        job = {"argv": argv, "stdin": str(stdin), "log": str(log)}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise SystemExit(f"bench/launch.py ended (exit {self.proc.wait()})")
        got = json.loads(reply)
        return got["wall"], got["maxrss_kib"] / 1024, got["code"]  # KiB on Linux

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # kills a loader still running, then exits
        self.proc.wait()


def measure(
    case: Case,
    loader: Loader,
    *,
    files: tuple[Path, Path],
    pg: Postgres | None,
    args: argparse.Namespace,
    expected: check.Expected,
    launcher: Launcher,
) -> Row:
    stream, _ = files
    work = args.bench_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    slug = f"{case.label.replace(' ', '-')}.{loader.name}"
    db = work / f"{loader.name}.duckdb"
    dest: Path | Postgres = pg if (case.backend == "postgres" and pg) else db
    cfg = work / f"{slug}.config.json"
    cfg.write_text(json.dumps(loader.config(dest, args.duckdb_url_query)) + "\n")
    row = Row(case, loader)
    for n in range(args.warmup + args.runs):
        counted = n >= args.warmup
        log = work / f"{slug}.{n + 1}.log"
        if isinstance(dest, Postgres):
            dest.reset()
        else:
            for path in (db, db.with_name(db.name + ".wal")):
                path.unlink(missing_ok=True)
        wall, peak, code = launcher.run(loader.argv(cfg), stream, log)
        if code:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            say(f"  ! {loader.name} exited {code}; log {log}:\n    " + "\n    ".join(tail))
        if isinstance(dest, Postgres):
            result = check.check_postgres(
                dest.url, expected, schema=PG_SCHEMA, strict_sequence=loader.strict_sequence
            )
        else:
            result = check.check_duckdb(
                db, expected, schema="main", strict_sequence=loader.strict_sequence
            )
        say(
            f"  {case.label:<8} {loader.name:<17} {'run' if counted else 'warm-up'} "
            f"{n + 1 - args.warmup if counted else n + 1}: {wall:7.2f} s {peak:7.0f} MiB  "
            f"{result.summary()}"
        )
        if counted:
            row.runs.append(Run(wall, peak, code, result))
    return row


# ------------------------------------------------------------------ report
def machine_lines(pg_version: str | None, loaders: list[Loader]) -> list[str]:
    import duckdb  # noqa: PLC0415

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"- date: {now}; nproc: {nproc}; CPU: {cpu}{mem}; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable}); DuckDB {duckdb.__version__}",
    ]
    if pg_version:
        lines.append(f"- PostgreSQL {pg_version}")
    lines.extend(f"- peer {lo.name}: {lo.versions}" for lo in loaders if lo.name != US)
    return lines


def table(rows: list[Row]) -> list[str]:
    out = [
        (
            "| scenario | loader | median wall s (min-max) | records/s | peak MiB "
            "| correct: ok / stale / missing / wrong / dup | target-sequenced records/s / this |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    ours = {r.case: r for r in rows if r.loader.name == US}
    for r in rows:
        walls = [x.wall for x in r.runs]
        res = r.worst
        verdict = (
            f"{res.ok:,} / {res.stale:,} / {res.missing:,} / {res.wrong:,} / {res.duplicate:,}"
        )
        if res.wrong_columns:
            counts = res.wrong_columns.most_common()
            verdict += " (" + ", ".join(f"{c}: {n:,}" for c, n in counts) + ")"
        if res.extra:
            verdict += f", {res.extra:,} extra keys"
        if res.error:
            verdict += f", error: {res.error[:60]}"
        if r.failed:
            verdict += f", EXIT {','.join(map(str, r.failed))}"
        ratio = "-"
        if r.loader.name != US and r.case in ours:
            ratio = f"{ours[r.case].records_per_s / r.records_per_s:.2f}x"
        out.append(
            f"| {r.case.label} ({r.case.input.records:,} rec) | {r.loader.name} "
            f"| {r.median:.2f} ({min(walls):.2f}-{max(walls):.2f}) | {r.records_per_s:,.0f} "
            f"| {r.peak:,.0f} | {verdict} | {ratio} |"
        )
    return out


def form_ratios(rows: list[Row]) -> list[str]:
    """target-sequenced's records/s on tap and api as a ratio of b's (same backend, same run)."""
    ours = {(r.case.input, r.case.backend): r for r in rows if r.loader.name == US}
    lines = []
    for (inp, backend), row in ours.items():
        if inp.form == "singer":
            continue
        base = ours.get((inp.source, backend))
        if base is None:
            lines.append(f"{row.case.label}: no ratio, its source scenario is not in this run")
            continue
        ratio = row.records_per_s / base.records_per_s
        lines.append(
            f"{row.case.label}: target-sequenced {row.records_per_s:,.0f} records/s = "
            f"{ratio:.3f}x {base.case.label}'s {base.records_per_s:,.0f} "
            f"(target >= 0.8x: {'met' if ratio >= 0.8 else 'NOT met'})"
        )
    return lines


def memory_notes(rows: list[Row]) -> list[str]:
    notes = []
    for loader in dict.fromkeys(r.loader.name for r in rows):
        growth = [r for r in rows if r.loader.name == loader and r.case.label.startswith("d")]
        for backend in ("duckdb", "postgres"):
            series = [r for r in growth if r.case.backend == backend]
            if len(series) > 1:
                steps = ", ".join(f"{r.case.input.records:,} rec {r.peak:,.0f} MiB" for r in series)
                notes.append(
                    f"peak RSS of {loader} as the input grows ({backend}): {steps} "
                    f"(x{series[-1].peak / series[0].peak:.2f} for "
                    f"x{series[-1].case.input.records / series[0].case.input.records:.0f} input)"
                )
    return notes


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scenarios", default="b,c,b-pg,d", help="comma list (default b,c,b-pg,d)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per loader (median quoted)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed runs before them")
    ap.add_argument("--peers", choices=("auto", "none"), default="auto")
    ap.add_argument(
        "--duckdb-url-query",
        default="",
        metavar="QUERY",
        help="appended to target-sequenced's DuckDB URL, e.g. memory_limit=128MB",
    )
    ap.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_DIR") or "/tmp/target-sequenced-bench"),  # noqa: S108
    )
    ap.add_argument(
        "--peers-dir",
        type=Path,
        default=Path(
            os.environ.get("PEERS") or Path.home() / ".cache" / "target-sequenced-bench" / "peers"
        ),
    )
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


@contextlib.contextmanager
def postgres_server() -> t.Iterator[Postgres]:
    """Honour TARGET_SEQUENCED_BENCH_PG_URL, else start a throwaway server (tests/pgserver.py)."""
    if os.environ.get(PG_URL_ENV):
        yield Postgres(sqlalchemy_pg_url(os.environ[PG_URL_ENV]))
        return
    sys.path.insert(0, str(ROOT))
    try:
        from tests.pgserver import postgres_server as start  # noqa: PLC0415
    except ImportError as e:
        raise SystemExit(f"cannot start PostgreSQL ({e}); set {PG_URL_ENV}") from e
    say("+ starting a throwaway PostgreSQL server on 127.0.0.1")
    try:
        server = start(durable=True)  # fsync on, as in production
        url = server.__enter__()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or ""
        raise SystemExit(f"cannot start PostgreSQL: {e} {detail}".strip()) from e
    try:
        yield Postgres(sqlalchemy_pg_url(url))
    finally:
        server.__exit__(None, None, None)
        say("+ PostgreSQL server stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    launcher = Launcher()  # first, while this process is small
    try:
        return bench(args, launcher)
    finally:
        launcher.close()


def bench(args: argparse.Namespace, launcher: Launcher) -> int:
    cases = [
        c for name in args.scenarios.split(",") if name.strip() for c in cases_of(name.strip())
    ]
    notes: list[str] = []
    ours = Loader(US, "any", ROOT / ".venv" / "bin" / US, strict_sequence=True)
    if not ours.executable.exists():
        found = Path(sys.executable).parent / US
        ours = Loader(US, "any", found, strict_sequence=True)
    loaders = [ours]
    if args.peers == "auto":
        loaders += find_peers(args.peers_dir, notes)
    args.bench_dir.mkdir(parents=True, exist_ok=True)

    files = {c.input: ensure_input(c.input, args.bench_dir) for c in cases}
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        pg = None
        if any(c.backend == "postgres" for c in cases):
            pg = stack.enter_context(postgres_server())
        header = machine_lines(pg.version() if pg else None, loaders)
        for case in cases:
            expected = check.load_expected(files[case.input][1])
            for loader in loaders:
                if loader.backend not in (case.backend, "any"):
                    continue
                if not loader.reads(case.input):
                    note = f"{case.label}: peers skipped, they read Singer messages, not batches"
                    notes += [] if note in notes else [note]
                    continue
                rows.append(
                    measure(
                        case,
                        loader,
                        files=files[case.input],
                        pg=pg,
                        args=args,
                        expected=expected,
                        launcher=launcher,
                    )
                )

    report = [
        "# target-sequenced benchmark",
        "",
        *header,
        (
            f"- runs per loader: {args.runs} (median wall, min-max; peak = largest max RSS of "
            f"the loader process over the runs, of which ~{launcher.floor_mib:.0f} MiB is "
            "inherited from the launcher); correctness = the worst run's table against the "
            "expected one"
        ),
        *(
            [f"- target-sequenced's DuckDB URL ends with `?{args.duckdb_url_query}`"]
            if args.duckdb_url_query
            else []
        ),
        "",
        *table(rows),
    ]
    extra = form_ratios(rows) + memory_notes(rows) + notes
    extra += [
        f"{r.loader.name} on {r.case.label}: the stored _sdc_sequence is not the record's in "
        f"{r.worst.sequence_differs:,} keys (not counted as wrong for peers)"
        for r in rows
        if r.loader.name != US and r.worst.sequence_differs
    ]
    if extra:
        report += ["", *(f"- {n}" for n in extra)]
    text = "\n".join(report) + "\n"
    print(text, end="")
    (args.bench_dir / "last-report.md").write_text(text)
    bad = [r for r in rows if r.loader.name == US and not r.correct]
    for r in bad:
        say(f"FAIL: target-sequenced on {r.case.label}: {r.worst.summary()}")
    return 1 if bad else 0


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the PostgreSQL server is stopped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    sys.exit(main())
