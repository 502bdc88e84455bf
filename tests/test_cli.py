"""The command line: help, errors that show the fix, stats, taxonomy, the sample build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.builders import registry
from dance_aggregate.cli import cli
from tests.helpers_sample import expected_ucf101


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_every_command(runner):
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name, cmd in cli.commands.items():
        assert name in res.output
        assert cmd.help, f"command {name} has no help text"
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, sub.output


def test_every_command_is_documented_in_readme():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in cli.commands:
        assert f"dance-aggregate {name}" in readme, f"README does not mention `dance-aggregate {name}`"


def test_build_without_anything_says_what_to_do(runner, tmp_path):
    res = runner.invoke(cli, ["build", "--output", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "dance-aggregate build --sample" in res.output


def test_wrong_data_dir_shows_expected_layout(runner, tmp_path):
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path / 'missing'}", "--output", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1
    assert "does not exist" in res.output
    assert "ucfTrainTestlist/" in res.output and "Traceback" not in res.output


def test_missing_data_dir_for_named_config(runner, tmp_path):
    res = runner.invoke(cli, ["build", "ucf101", "--output", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "no --data-dir for source 'ucf101'" in res.output
    assert "--data-dir ucf101=" in res.output


def _ucf_groups(data_dir: Path, fold: int = 1) -> dict[str, set[str]]:
    """Split -> UCF101 groups (``SalsaSpin_g09``) of the dance clips in the fold's lists."""
    tax = registry.taxonomy()
    out: dict[str, set[str]] = {}
    for split in ("train", "test"):
        lines = (data_dir / "ucfTrainTestlist" / f"{split}list0{fold}.txt").read_text().split()
        out[split] = {
            rel.split("/")[1][2:].rsplit("_c", 1)[0] for rel in lines if rel.endswith(".avi") and tax.map("ucf101", rel.split("/")[0])
        }
    return out


def test_unknown_config_and_bad_pairs(runner, tmp_path):
    res = runner.invoke(cli, ["build", "nosuch", "--data-dir", f"nosuch={tmp_path}"])
    assert res.exit_code == 1 and "unknown config 'nosuch'" in res.output
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", "ucf101"])
    assert res.exit_code == 2 and "expected SOURCE=PATH" in res.output
    res = runner.invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path}", "-o", "ucf101.fold=9"])
    assert res.exit_code == 1 and "fold must be 1, 2 or 3" in res.output


@pytest.mark.parametrize(
    "flag, first, second",
    [
        ("--data-dir", "ucf101=a", "ucf101=b"),
        ("--data-dir", "ucf101=a", " ucf101=a"),  # the same source, even with the same folder
        ("--video-dir", "kinetics600=a", "kinetics600=b"),
        ("--pretraining-ids", "k=a.txt", "k=b.txt"),
        ("--option", "ucf101.fold=2", "ucf101.fold=3"),
        ("-o", "ucf101.fold=2", "ucf101.fold=2"),
    ],
)
def test_a_name_given_twice_is_refused(runner, tmp_path, flag, first, second):
    for name in ("a", "b", "a.txt", "b.txt"):
        (tmp_path / name).mkdir() if "." not in name else (tmp_path / name).write_text("-5Yp-vToI2E\n")
    out = tmp_path / "o"
    args = ["build", "ucf101", "--data-dir", "ucf101=a", "--output", str(out), flag, first, flag, second]
    if flag == "--data-dir":
        args[2:4] = []
    res = runner.invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 2, res.output
    name = first.partition("=")[0]
    assert f"{name} is given twice ({first!r} and {second!r})" in " ".join(res.output.split()), res.output
    assert "once" in res.output and not out.exists()  # refused before any work
    # each name once is fine (a different name is not a repeat)
    if flag in ("--option", "-o"):
        ok = runner.invoke(cli, ["build", "nosuch", "-o", "ucf101.fold=2", "-o", "ucf101.max_missing=1", "--output", str(out)])
        assert "given twice" not in ok.output and "unknown config 'nosuch'" in ok.output


def test_stats_and_json(runner, built_ucf, ucf_sample):
    expected = expected_ucf101(ucf_sample)
    res = runner.invoke(cli, ["stats", str(built_ucf)])
    assert res.exit_code == 0
    assert re.search(rf"train\s+{expected.rows['train']} rows", res.output) and "salsa" in res.output
    # rows and distinct videos (UCF101 groups gNN of the listed dance clips)
    videos = _ucf_groups(ucf_sample)
    assert len(videos["train"]) < expected.rows["train"]  # several clips per group: the counts differ
    assert re.search(rf"train\s+{expected.rows['train']} rows\s+{len(videos['train'])} videos", res.output)
    res = runner.invoke(cli, ["stats", str(built_ucf), "--json"])
    data = json.loads(res.output)
    c = data["configs"]["ucf101"]
    assert c["splits"]["test"]["rows"] == expected.rows["test"]
    assert c["splits"]["train"]["labels"] == expected.labels["train"]
    for split in ("train", "test"):
        assert c["splits"][split]["videos"] == len(videos[split])
        assert c["splits"][split]["label_videos"] == {"salsa": len(videos[split])}
    acc = c["accounting"]
    assert acc["records_read"] == acc["rows_written"] + sum(acc["excluded"].values())


def test_stats_on_empty_folder(runner, tmp_path):
    res = runner.invoke(cli, ["stats", str(tmp_path)])
    assert res.exit_code == 1 and "dance-aggregate build --sample" in res.output


def test_taxonomy_table(runner):
    res = runner.invoke(cli, ["taxonomy"])
    assert res.exit_code == 0
    assert re.search(r"11\s+salsa\s+latin_dance\s+latin\s+ucf101: SalsaSpin", res.output)
    assert re.search(r"34\s+marching\s+-\s+motion\s+.*\(not dance\)", res.output)
    res = runner.invoke(cli, ["taxonomy", "--json", "--source", "letsdance"])
    rows = json.loads(res.output)
    assert len(rows) == 16 and all(set(r["sources"]) == {"letsdance"} for r in rows)
    # the tree: each label's parent, ancestors and children
    latin = next(r for r in rows if r["id"] == "latin_dance")
    assert latin["parent"] == "dance" and latin["umbrella"] and {"cha_cha", "rumba", "samba", "jive"} <= set(latin["children"])
    assert next(r for r in rows if r["id"] == "cha_cha")["ancestors"] == ["latin_dance", "dance"]


@pytest.mark.slow
def test_sample_build_end_to_end(runner, tmp_path):
    out = tmp_path / "dance_aggregate"
    res = runner.invoke(cli, ["build", "--sample", "--output", str(out), "--cache-dir", str(tmp_path / "cache"), "-q"])
    assert res.exit_code == 0, res.output
    # the load hint names the folder by its absolute path: a bare name works only from its parent
    assert "records read =" in res.output and f"load_dataset('{out.resolve()}', 'all')" in res.output
    assert (out / "data" / "ucf101").is_dir() and (out / "README.md").is_file()
