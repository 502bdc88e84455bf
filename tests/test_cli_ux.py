"""What a user sees from ``dance-aggregate build``: option typos, the end-of-build summary and
exit code, progress that counts what it names, warnings, ``--quiet``, ``--shards``, and
hints whose commands exist."""

from __future__ import annotations

import ast
import logging
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate import progress
from dance_aggregate.cli import cli
from tests.helpers_sample import MISSING, expected_kinetics600

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def built_copy(sample_build: Path, tmp_path: Path) -> Path:
    """A copy of the session's sample build (parts included, so rebuilds resume)."""
    dst = tmp_path / "dance_aggregate"
    shutil.copytree(sample_build, dst)
    return dst


def _src(sample_sources, config: str):
    return next(s for s in sample_sources if s.config == config)


# -- options ---------------------------------------------------------------------------------


def test_option_for_unknown_config_is_an_error(runner, tmp_path):
    out = tmp_path / "o"
    res = runner.invoke(cli, ["build", "--sample", "-o", "ucf.fold=2", "-O", str(out), "--cache-dir", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert "-o ucf.fold=2" in res.output and "unknown config 'ucf'" in res.output and "ucf101" in res.output
    assert not out.exists() and not (tmp_path / "c").exists(), "nothing is done before the request is valid"


def test_unknown_key_of_a_config_not_built_is_an_error(runner, tmp_path, sample_sources):
    ucf = _src(sample_sources, "ucf101").data_dir
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={ucf}", "-o", "kinetics600.fold=2", "-O", str(tmp_path / "o")])
    assert res.exit_code == 1 and "kinetics600: unknown option 'fold'" in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_option_for_a_config_not_built_is_a_warning(runner, built_copy, sample_sources):
    ucf = _src(sample_sources, "ucf101").data_dir
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={ucf}", "-o", "letsdance.max_missing=0.2", "-O", str(built_copy)])
    assert res.exit_code == 0, res.output
    assert "options for letsdance are ignored: it is not being built (building ucf101)" in res.output
    assert "dance-aggregate build letsdance" in res.output


# -- the end of a build ----------------------------------------------------------------------


def test_failed_build_summary_and_exit_code(runner, tmp_path):
    out = tmp_path / "never"
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path / 'missing'}", "-O", str(out)])
    assert res.exit_code == 1
    assert "ucf101: ucf101:" not in res.output, "the config name is said once"
    assert re.search(r"ucf101\s+FAILED: --data-dir \S+missing does not exist", res.output)
    assert "Output:" not in res.output and not (out / "data").exists(), "no dataset was made, so none is announced"
    assert "load_dataset" not in res.output
    assert res.output.count("Expected --data-dir ucf101=PATH") == 1, "the full error is shown once"
    assert "1 config(s) failed: ucf101" in res.output


@pytest.mark.slow
def test_partly_failed_build_lists_each_config(runner, built_copy, sample_sources, tmp_path):
    ucf = _src(sample_sources, "ucf101").data_dir
    res = runner.invoke(
        cli,
        ["build", "ucf101", "kinetics600", "--data-dir", f"ucf101={ucf}", "--data-dir", f"kinetics600={tmp_path / 'nope'}",
         "-O", str(built_copy), "-q"],
    )
    assert res.exit_code == 1
    assert re.search(r"ucf101\s+built: 8 rows", res.output) and re.search(r"all\s+built: \d+ rows", res.output)
    assert re.search(r"kinetics600\s+FAILED: --data-dir .*nope does not exist", res.output)
    # the folder exists and holds configs: where it is and how to load it, by absolute path
    assert f"Output: {built_copy.resolve()}" in res.output
    assert f"load_dataset('{built_copy.resolve()}', 'all')" in res.output


# -- progress, warnings, --quiet ---------------------------------------------------------------


@pytest.mark.slow
def test_progress_off_a_terminal_is_log_lines(runner, tmp_path, sample_cache, sample_sources, monkeypatch):
    """CliRunner's stderr is not a terminal: progress comes as whole log lines, once per
    step when the interval is long (never one line per refresh), excluded records called
    exclusions, and the sample's missing clip explained without "build without --offline"."""
    monkeypatch.setattr(progress, "LOG_INTERVAL", 1e9)
    out = tmp_path / "o"
    res = runner.invoke(cli, ["build", "kinetics600", "--sample", "-O", str(out), "--cache-dir", str(sample_cache)])
    assert res.exit_code == 0, res.output
    text = res.output
    assert "\r" not in text and "failed=" not in text
    k = _src(sample_sources, "kinetics600")
    exp = expected_kinetics600(k.data_dir, k.video_dir)
    clips = f"{exp.planned}/{exp.planned} clips (100%), rows={exp.rows_written}, excluded={exp.excluded[MISSING]}"
    lines = [ln for ln in text.splitlines() if ln.startswith("kinetics600: clips:")]
    assert len(lines) == 1 and lines[0].startswith(f"kinetics600: clips: {clips}"), lines
    writing = [ln for ln in text.splitlines() if ln.startswith("kinetics600: writing:")]
    assert len(writing) == 1 and writing[0].startswith(f"kinetics600: writing: {exp.rows_written}/{exp.rows_written} rows")
    warning = next(ln for ln in text.splitlines() if "excluded (missing video)" in ln)
    assert warning.startswith("kinetics600/") and "--sample build never downloads" in warning
    assert "without --offline" not in text
    assert "options for" not in text, "the sample's options of configs not built are not the user's"


@pytest.mark.slow
def test_explicit_offline_suggests_building_without_it(runner, tmp_path, sample_sources):
    k = _src(sample_sources, "kinetics600")
    out = tmp_path / "o"
    res = runner.invoke(
        cli, ["build", "kinetics600", "--data-dir", f"kinetics600={k.data_dir}", "--video-dir", f"kinetics600={k.video_dir}",
              "--offline", "-O", str(out), "-q"],
    )
    assert res.exit_code == 0, res.output
    detail = (out / "reports" / "kinetics600.excluded.csv").read_text()
    assert "build without --offline" in detail


def test_log_progress_lines() -> None:
    bar = progress.LogProgress(10, "x: clips", "clip", initial=2, interval=0)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())  # type: ignore[method-assign]
    progress.logger.addHandler(handler)
    progress.logger.setLevel(logging.INFO)
    try:
        bar.set_postfix({"rows": 3, "excluded": 1})
        bar.update(4)
        bar.close()
        bar.close()
    finally:
        progress.logger.removeHandler(handler)
    assert len(records) == 2, "one line per update at interval 0, and one at close (once)"
    assert records[0].startswith("x: clips: 6/10 clips (60%), rows=3, excluded=1, 2 done earlier")
    assert not progress.progress_bar(5, "d", "row", enabled=False).__class__.__name__.startswith("tqdm")


def test_bars_on_a_terminal_and_warnings_above_them(monkeypatch) -> None:
    from tqdm import tqdm

    from dance_aggregate.cli import _AboveBars

    monkeypatch.setattr(progress, "interactive", lambda: True)
    bar = progress.progress_bar(3, "x: clips", "clip")
    try:
        assert isinstance(bar, tqdm)
        bar.set_postfix({"rows": 3, "excluded": 1})
        assert "rows=3, excluded=1" in str(bar), "rows first, as the build passes them"
    finally:
        bar.close()
    written: list[str] = []
    monkeypatch.setattr(tqdm, "write", classmethod(lambda cls, s, file=None, end="\n", nolock=False: written.append(s)))
    handler = _AboveBars()
    handler.emit(logging.LogRecord("dance_aggregate.x", logging.WARNING, __file__, 1, "a warning", None, None))
    assert written == ["a warning"], "log lines go through tqdm.write, which clears and redraws the bars"


@pytest.mark.slow
def test_quiet_holds_back_per_clip_warnings_also_from_worker_processes(runner, tmp_path, sample_cache):
    """-j 2: the missing clip's warning is logged in a spawned worker; it reaches this
    process's handlers (held back and counted), not the worker's raw stderr."""
    out = tmp_path / "o"
    res = runner.invoke(cli, ["build", "kinetics600", "--sample", "-j", "2", "-q", "-O", str(out), "--cache-dir", str(sample_cache)])
    assert res.exit_code == 0, res.output
    assert "excluded (missing video)" not in res.output
    assert "--quiet held back 1 warning(s) about single clips" in res.output
    assert "reports/<config>.excluded.csv" in res.output


# -- shards ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_shards_option_reshards_and_satisfies_the_training_check(runner, built_copy, sample_cache):
    from dance_aggregate.output.folder import BuiltFolder
    from dance_aggregate.training import check_parallelism

    before = BuiltFolder.open(built_copy)
    assert len(before.shards("kinetics600")["train"]) == 1
    rows_before = before.rows("kinetics600")
    problems = check_parallelism(1, world_size=2, num_workers=1, config="kinetics600")
    hint = re.search(r"for the sample: (dance-aggregate build --sample --shards \d+)", problems[0]).group(1)
    args = hint.split()[1:] + ["-O", str(built_copy), "--cache-dir", str(sample_cache), "-q"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    after = BuiltFolder.open(built_copy)
    k600 = after.shards("kinetics600")
    n, rows = int(hint.split()[-1]), after.rows("kinetics600")
    assert len(k600["train"]) == 2 and all(len(k600[s]) == min(n, r) for s, r in rows.items())  # never an empty shard
    assert len(after.shards("all")["train"]) == 2 and len(after.shards("ucf101")["test"]) == 2
    assert after.rows("kinetics600") == rows_before
    assert check_parallelism(len(k600["train"]), world_size=2, num_workers=1, config="kinetics600") == []


def test_shards_must_be_positive(runner, tmp_path):
    res = runner.invoke(cli, ["build", "--sample", "--shards", "0", "-O", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--shards" in res.output


# -- hints name commands that exist ----------------------------------------------------------


def _string_pieces() -> list[tuple[str, str]]:
    """Every string constant of the package (f-string pieces included), with its file."""
    out = []
    for path in sorted((ROOT / "src" / "dance_aggregate").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append((path.relative_to(ROOT).as_posix(), node.value))
    return out


#: Flags of other programs that the package's texts mention.
#: ray start --head, ray start --address, ray start --head --port; cp --remove-destination
_OTHER_PROGRAMS = {"--head", "--address", "--port", "--remove-destination"}


def test_every_flag_and_command_in_messages_exists():
    """Hints, "Fix:" lines and help texts only name commands and flags the CLI has."""
    options: dict[str, set[str]] = {}
    for name, cmd in cli.commands.items():
        options[name] = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    every = set().union(*options.values()) | {"--help", "--version"}
    problems = []
    for where, text in _string_pieces():
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text):
            if flag not in every and flag not in _OTHER_PROGRAMS:
                problems.append(f"{where}: {flag} is no option of dance-aggregate: {text[:80]!r}")
        for m in re.finditer(r"dance-aggregate (\w+)((?: +[^\s`\"'()]+)*)", text):
            command, rest = m.group(1), m.group(2)
            if command not in options:
                problems.append(f"{where}: `dance-aggregate {command}` is no command")
                continue
            for flag in re.findall(r"(?<![\w=/-])(--?[a-zA-Z][\w-]*)", rest):
                if flag not in options[command]:
                    problems.append(f"{where}: `dance-aggregate {command}` has no option {flag}: {m.group(0)!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_youtube8m_level_hint_works(runner, tmp_path, sample_sources):
    """The hint of a mixed-level YouTube-8M tree (``-o youtube8m.level=frame``) is a build
    that runs and keeps one level."""
    y8m = _src(sample_sources, "youtube8m").data_dir
    out = tmp_path / "o"
    res = runner.invoke(cli, ["build", "youtube8m", "--data-dir", f"youtube8m={y8m}", "-O", str(out)])
    assert "-o youtube8m.level=frame (or video)" in res.output
    res = runner.invoke(cli, ["build", "youtube8m", "--data-dir", f"youtube8m={y8m}", "-o", "youtube8m.level=frame", "-O", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "holds video-level" not in res.output


# -- help, Ctrl-C, failed first builds, plain text ---------------------------------------------


def test_build_help_lists_every_config(runner):
    from dance_aggregate.builders import registry

    res = runner.invoke(cli, ["build", "--help"])
    assert res.exit_code == 0
    listing = res.output.split("Configs (the CONFIGS argument", 1)[1]
    flat = " ".join(listing.split())  # click wraps long lines
    for cfg in registry.configs():
        assert re.search(rf"^\s+{cfg.name}\s", listing, flags=re.M), cfg.name
        assert f"--data-dir {cfg.source}=PATH" in flat
    assert re.search(r"^\s+all\s+every source with video, deduplicated", listing, flags=re.M)
    assert "(only when named, not in all)" in flat, "an opt-in config says so"


def _forkserver_children(build_pid: int) -> int:
    """Processes of the build's session that a forkserver made (the forkserver and its workers)."""
    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[3]) == build_pid and b"forkserver" in cmdline:  # fields[3]: the process group
            n += 1
    return n


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_ctrl_c_says_the_same_command_resumes(tmp_path, sample_cache):
    """A terminal's Ctrl-C signals every process of the job (the build, its forkserver and its
    workers): one line says to run the same command again, exit code 130, no traceback from
    any process; and the same command then finishes the build."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "dance_aggregate", "build", "ucf101", "activitynet", "--sample", "-j", "2",
           "--part-size", "1", "-O", str(out), "--cache-dir", str(sample_cache)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while _forkserver_children(proc.pid) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the forkserver and at least two workers run
    assert proc.poll() is None, "the build ended before its workers were seen"
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "Aborted!" not in stderr, stderr[-3000:]
    assert "Interrupted (Ctrl-C). Run the same command again to resume" in stderr
    rerun = subprocess.run(cmd + ["-q"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert re.search(r"ucf101\s+built: 8 rows", rerun.stdout), rerun.stdout


def test_ctrl_c_in_publish_says_the_upload_resumes(runner, monkeypatch, tmp_path):
    """Ctrl-C while publishing (raised where the library is called, as the signal would)."""
    import dance_aggregate as da

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(da, "publish", interrupted)
    res = runner.invoke(cli, ["publish", "--repo-id", "my-user/dance_aggregate", "--folder", str(tmp_path)])
    assert res.exit_code == 130
    assert "Interrupted (Ctrl-C). Run the same command again to resume: files already on the Hub are skipped." in res.output
    assert "Aborted!" not in res.output


def test_ctrl_c_in_scripts_publish_says_the_same(monkeypatch, tmp_path, capsys):
    """``python scripts/publish.py``, the other way to publish, ends a Ctrl-C the same way."""
    import importlib.util

    import dance_aggregate as da

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    spec = importlib.util.spec_from_file_location("publish_script", ROOT / "scripts" / "publish.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(da, "publish", interrupted)
    assert script.main(["--repo-id", "my-user/dance_aggregate", "--folder", str(tmp_path), "-q"]) == 130
    assert "Interrupted (Ctrl-C). Run the same command again to resume: files already on the Hub are skipped." in capsys.readouterr().err


def test_failed_first_build_leaves_no_folder(runner, tmp_path):
    """Nothing built: the folders the build made (the output and the parents made for it) are
    removed, and the summary says so; a folder that was there stays, without a .work/ of this
    build in it; a previous build's .work/ is never touched."""
    out = tmp_path / "new" / "deeper" / "dance_aggregate"
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path / 'missing'}", "-O", str(out)])
    assert res.exit_code == 1
    assert not (tmp_path / "new").exists(), sorted(p.name for p in tmp_path.rglob("*"))
    assert f"Nothing was built, so the folder this build made ({out}) was removed." in res.output
    there = tmp_path / "there"
    there.mkdir()
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path / 'missing'}", "-O", str(there), "-q"])
    assert res.exit_code == 1 and there.is_dir() and list(there.iterdir()) == []
    assert "was removed" not in res.output
    (there / ".work" / "parts").mkdir(parents=True)  # an earlier build's work folder
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path / 'missing'}", "-O", str(there), "-q"])
    assert res.exit_code == 1 and (there / ".work" / "parts").is_dir() and (there / ".work" / "build.lock").is_file()


def test_unused_output_removal_keeps_every_file(tmp_path):
    """Only the lock and empty folders go: a download the failed build made is kept for the rerun."""
    from dance_aggregate.output.leftovers import first_missing, remove_unused_output

    out = tmp_path / "a" / "b"
    created = first_missing(out)
    assert created == tmp_path / "a"
    (out / ".work" / "fetch" / "kinetics600" / "ledger").mkdir(parents=True)
    (out / ".work" / "fetch" / "kinetics600" / "clip.mp4").write_bytes(b"x")
    (out / ".work" / "parts" / "empty").mkdir(parents=True)
    (out / ".work" / "build.lock").write_text("pid 1")
    removed = remove_unused_output(out, created=created, work_existed=False)
    assert (out / ".work" / "fetch" / "kinetics600" / "clip.mp4").read_bytes() == b"x"
    assert not (out / ".work" / "build.lock").exists() and not (out / ".work" / "parts").exists()
    assert not (out / ".work" / "fetch" / "kinetics600" / "ledger").exists()
    assert out / ".work" / "parts" / "empty" in removed and out not in removed
    (out / "data").mkdir()  # a dataset: nothing is removed
    (out / ".work" / "build.lock").write_text("pid 1")
    assert remove_unused_output(out, created=created, work_existed=False) == []


def _common_errors(tmp_path: Path) -> list[list[str]]:
    from dance_aggregate.builders import registry

    missing = str(tmp_path / "missing")
    cases = [["build"], ["build", "kinetics60"], ["build", "ucf101"], ["build", "--sample", "-o", "ucf101.nope=1"],
             ["build", "--data-dir", "ucf101"], ["stats", missing], ["taxonomy", "--source", "nope"],
             ["publish", "--repo-id", "my-user/x", "--folder", missing, "--dry-run"], ["publish", "--repo-id", "nope"]]
    for cfg in registry.configs():  # each source's layout, as a wrong --data-dir shows it
        cases.append(["build", cfg.name, "--data-dir", f"{cfg.source}={missing}", "-O", str(tmp_path / "o")])
        cases.append(["build", cfg.name, "-O", str(tmp_path / "o")])
    return cases


def test_common_errors_print_plain_text(runner, tmp_path, monkeypatch):
    """Messages on a terminal carry no RST markup (````--video-dir X````), and no traceback."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen = 0
    for args in _common_errors(tmp_path):
        res = runner.invoke(cli, args)
        assert res.exit_code != 0, args
        assert "``" not in res.output, f"{args}: {res.output}"
        assert "Traceback" not in res.output and not isinstance(res.exception, AssertionError), args
        seen += "Expected" in res.output  # the layouts are among them
    assert seen >= 6
