"""The command ``python -m gcnlib kipf-welling`` that reproduces Kipf & Welling's experiment."""

import re
import subprocess
import sys

import pytest

from gcnlib.__main__ import main

SUMMARY = re.compile(r"^(cora|citeseer): test accuracy (\d+\.\d) ± (\d+\.\d) % over (\d+) seeds?$")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gcnlib", *args], capture_output=True, text=True, timeout=60)


def test_short_run_prints_progress_and_the_summary_line():
    result = run("kipf-welling", "--dataset", "cora", "--seeds", "2", "--epochs", "20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match, result.stdout
    assert match.group(1) == "cora" and match.group(4) == "2"
    assert 30 < float(match.group(2)) <= 100
    assert (
        result.stderr.count("seed 0:") == 1 and result.stderr.count("seed 1:") == 1
    )  # progress, one line per seed


def test_help_explains_every_option():
    result = run("kipf-welling", "--help")
    assert result.returncode == 0
    for option in (
        "--dataset",
        "--seeds",
        "--epochs",
        "--lr",
        "--hidden",
        "--dropout",
        "--weight-decay",
        "--early-stopping",
    ):
        assert option in result.stdout
    assert "final epoch" in result.stdout


def test_unknown_dataset_is_a_clear_error():
    result = run("kipf-welling", "--dataset", "pubmed")
    assert result.returncode == 2
    assert "pubmed" in result.stderr and "cora" in result.stderr and "citeseer" in result.stderr


@pytest.mark.parametrize(
    "option, value", [("--seeds", "0"), ("--dropout", "1"), ("--lr", "-1"), ("--epochs", "x")]
)
def test_bad_values_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["kipf-welling", option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "kipf-welling" in capsys.readouterr().err


def test_one_seed_in_process(capsys):
    assert (
        main(
            [
                "kipf-welling",
                "--dataset",
                "citeseer",
                "--seeds",
                "1",
                "--epochs",
                "5",
                "--early-stopping",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.strip()
    assert SUMMARY.match(out) and out.endswith("over 1 seed")


def test_seed_runs_one_chosen_seed_and_is_not_an_abbreviation_of_seeds(capsys):
    assert main(["kipf-welling", "--seed", "3", "--epochs", "3"]) == 0
    captured = capsys.readouterr()
    assert re.fullmatch(r"cora: test accuracy \d+\.\d % with seed 3\n", captured.out), captured.out
    assert "seed 3:" in captured.err and "seed 0:" not in captured.err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["kipf-welling", "--see", "3"], "unrecognized arguments: --see 3"),
        (["kipf-welling", "--seed", "3", "--seeds", "2"], "not allowed with argument --seed"),
        (["kipf-welling", "--seed", "-1"], "--seed"),
    ],
)
def test_no_prefix_guessing_and_no_contradictions(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert fragment in capsys.readouterr().err


def test_dataset_names_ignore_case(capsys):
    assert main(["kipf-welling", "--dataset", "CiteSeer", "--seed", "0", "--epochs", "2"]) == 0
    assert capsys.readouterr().out.startswith("citeseer: test accuracy")
