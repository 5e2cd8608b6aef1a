"""The local pipeline's command line: its arguments read into the demo's options, and bad ones refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.cli import build_parser, main, options_from_args


def test_the_demos_arguments_become_its_options() -> None:
    # Given the demo's command line with two refused prefixes, a CDK context value and a deployment override
    arguments = ["demo", "--refuse-prefix", "+4420794609", "--refuse-prefix", "+3319900"]
    arguments += ["-c", "batchSize=3", "--concurrency", "4", "--latency-ms", "20"]
    # When it is read into the demo's options
    options = options_from_args(build_parser().parse_args(arguments))
    # Then each reaches its option, the deployment settings as the CDK context keys the stack reads
    assert options.refused_destination_prefixes == ("+4420794609", "+3319900")
    assert options.context_overrides == {"batchSize": 3, "maxConcurrency": 4}
    assert options.latency_seconds == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--throttle-rate", "-0.5"], "argument --throttle-rate: must be between 0 and 1, got -0.5"),
        (["--requests", "0"], "argument --requests: must be >= 1, got 0"),
        (["--quota", "fast"], "argument --quota: expected a number, got 'fast'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_arguments_get_a_clear_message(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given / When the demo is started with a bad argument
    with pytest.raises(SystemExit) as raised:
        main(["demo", *arguments])
    # Then it exits with argparse's usage code and a one-line reason, no traceback
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_bad_deployment_settings_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given a context override the stack itself would reject
    # When the demo is started with it
    exit_code = main(["demo", "-c", "batchSize=0", "--work-dir", str(tmp_path), "--no-progress"])
    # Then it names the setting, exits 2 and starts nothing
    assert exit_code == 2
    error = capsys.readouterr().err
    assert "'batchSize'" in error
    assert "Traceback" not in error
