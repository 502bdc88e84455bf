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
def test_progress_off_a_terminal_is_log_lines(runner, tmp_path, sample_cache, monkeypatch):
    """CliRunner's stderr is not a terminal: progress comes as whole log lines, once per
    step when the interval is long (never one line per refresh), excluded records called
    exclusions, and the sample's missing clip explained without "build without --offline"."""
    monkeypatch.setattr(progress, "LOG_INTERVAL", 1e9)
    out = tmp_path / "o"
    res = runner.invoke(cli, ["build", "kinetics600", "--sample", "-O", str(out), "--cache-dir", str(sample_cache)])
    assert res.exit_code == 0, res.output
    text = res.output
    assert "\r" not in text and "failed=" not in text
    lines = [ln for ln in text.splitlines() if ln.startswith("kinetics600: clips:")]
    assert len(lines) == 1 and lines[0].startswith("kinetics600: clips: 4/4 clips (100%), rows=3, excluded=1")
    writing = [ln for ln in text.splitlines() if ln.startswith("kinetics600: writing:")]
    assert len(writing) == 1 and writing[0].startswith("kinetics600: writing: 3/3 rows")
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
    assert len(k600["train"]) == 2 and len(k600["validation"]) == 1  # one row: one shard
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
