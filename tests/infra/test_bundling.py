"""The function's asset is bundled on the host with pip, without Docker, for Lambda's arm64 Python runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest

from infra.bundling import ARM64_PIP_PLATFORM, pip_install_command, runtime_python_version
from infra.caller import RUNTIME
from tests.infra.synthesis import app_with

# ELF header: e_machine (offset 18, little-endian) is 183 (0xB7) for AArch64.
ELF_MAGIC = b"\x7fELF"
ELF_MACHINE_OFFSET = 18
EM_AARCH64 = 183


def _machine(shared_object: Path) -> int:
    header = shared_object.read_bytes()[:20]
    assert header.startswith(ELF_MAGIC)
    return int.from_bytes(header[ELF_MACHINE_OFFSET : ELF_MACHINE_OFFSET + 2], "little")


def test_pip_selects_wheels_for_the_functions_runtime_and_architecture(tmp_path: Path) -> None:
    # Given the function's runtime
    version = runtime_python_version(RUNTIME)
    # When the pip command is built
    command = pip_install_command(tmp_path / "requirements.txt", tmp_path, version)
    # Then it asks for binary wheels only, for CPython at that version, on manylinux aarch64
    assert version == RUNTIME.name.removeprefix("python")
    assert command[command.index("--platform") + 1] == ARM64_PIP_PLATFORM == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == version
    assert "--only-binary=:all:" in command


@pytest.mark.slow
def test_synthesis_bundles_the_function_locally_without_docker(tmp_path: Path) -> None:
    # Given the app with bundling on, and CDK_DOCKER pointing nowhere (tests/infra/synthesis.py)
    app = app_with(bundle=True, outdir=tmp_path)
    # When it is synthesized
    app.synth()
    # Then the function's asset holds the code and arm64 builds of the compiled dependencies
    template = json.loads((tmp_path / "ConnectOutboundCaller.template.json").read_text(encoding="utf-8"))
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    asset = tmp_path / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "outbound_caller" / "handler.py").is_file()
    assert not list(asset.rglob("__pycache__"))
    assert not (asset / "requirements.txt").exists()
    for package in ("aws_lambda_powertools", "boto3", "pydantic", "aws_xray_sdk", "phonenumbers", "tzdata"):
        assert (asset / package).is_dir(), package
    # and phonenumbers' time-zone metadata, without the geocoding and carrier data the function never reads
    assert (asset / "phonenumbers" / "tzdata").is_dir()
    assert not (asset / "phonenumbers" / "geodata").exists()
    assert not (asset / "phonenumbers" / "carrierdata").exists()
    # which still answers the calling-safety questions from the asset's own copy (pure Python: runs on this host)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import phonenumbers, phonenumbers.timezone as tz;"
        "assert phonenumbers.__file__.startswith(sys.argv[1]);"
        "n = phonenumbers.parse('+442079460123');"
        "print(phonenumbers.region_code_for_number(n), phonenumbers.number_type(n), *tz.time_zones_for_number(n))"
    )
    answer = subprocess.run([sys.executable, "-c", probe, str(asset)], capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["GB", str(phonenumbers.PhoneNumberType.FIXED_LINE), "Europe/London"]
    compiled = list((asset / "pydantic_core").glob("*.so"))
    assert compiled
    assert {_machine(shared_object) for shared_object in compiled} == {EM_AARCH64}
    assert all(f"cpython-{RUNTIME.name.removeprefix('python').replace('.', '')}" in so.name for so in compiled)
