"""The function's asset is bundled on the host with pip, without Docker, for Lambda's arm64 Python runtime."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import holidays
import phonenumbers
import pytest
from aws_cdk import App, Stack
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.bundling import (
    ARM64_PIP_PLATFORM,
    CODE_ROOT,
    LOCK_FILE,
    REQUIREMENTS_FILE,
    function_code,
    pip_install_command,
    runtime_python_version,
)
from infra.caller import RUNTIME
from tests.infra.synthesis import SKIP_BUNDLING, app_with

# The development environment's holidays, translations included (the lock pins it at the bundle's version).
DEVELOPMENT_HOLIDAYS = Path(holidays.__file__).parent

# Regions whose national holidays the bundle must still name, day for day, without the holiday names' translations: a
# spread of calendars (fixed, Easter-based, lunar, observed-on-Monday rules) and of languages the library knows.
HOLIDAY_REGIONS = ("US", "GB", "DE", "FR", "BR", "JP", "IN", "AU")
HOLIDAY_YEARS = (2026, 2027)
# Lambda's runtime sets LANG; a foreign locale must not make the library look for (or need) a translation either.
FOREIGN_LOCALE = {"LANG": "de_DE.UTF-8", "LANGUAGE": "fr"}
_HOLIDAY_DAYS = (
    "import json, sys; sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None; import holidays;"
    "assert not sys.argv[1] or holidays.__file__.startswith(sys.argv[1]);"
    "years = json.loads(sys.argv[3]);"
    "print(json.dumps({region: sorted(str(day) for day in holidays.country_holidays(region, years=years))"
    " for region in json.loads(sys.argv[2])}))"
)

# ELF header: e_machine (offset 18, little-endian) is 183 (0xB7) for AArch64.
ELF_MAGIC = b"\x7fELF"
ELF_MACHINE_OFFSET = 18
EM_AARCH64 = 183


def _machine(shared_object: Path) -> int:
    header = shared_object.read_bytes()[:20]
    assert header.startswith(ELF_MAGIC)
    return int.from_bytes(header[ELF_MACHINE_OFFSET : ELF_MACHINE_OFFSET + 2], "little")


# A pin in the lock: a line that starts with the name, as `uv pip compile` writes it ("name==version \").
LOCK_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def _lock_pins(lock: Path) -> dict[str, str]:
    """Canonical name -> version of every package the lock pins."""
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = LOCK_PIN.match(line)
        if match:
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def _requirements(requirements: Path) -> list[Requirement]:
    """The requirements a pip requirements file names (comments and blank lines left out)."""
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def _asset_key(code_root: Path) -> str:
    """The S3 key (the asset's hash) the function's code gets from code_root, bundling skipped as in the infra tests."""
    stack = Stack(App(context=dict(SKIP_BUNDLING)), "Probe")
    location = function_code(RUNTIME, code_root).bind(stack).s3_location
    assert location is not None
    return location.object_key


def test_pip_selects_wheels_for_the_functions_runtime_and_architecture(tmp_path: Path) -> None:
    # Given the function's runtime
    version = runtime_python_version(RUNTIME)
    # When the pip command is built
    command = pip_install_command(tmp_path / LOCK_FILE, tmp_path, version)
    # Then it asks for binary wheels only, for CPython at that version, on manylinux aarch64
    assert version == RUNTIME.name.removeprefix("python")
    assert command[command.index("--platform") + 1] == ARM64_PIP_PLATFORM == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == version
    assert "--only-binary=:all:" in command
    # from the lock, each wheel checked against the lock's hashes
    assert command[command.index("--requirement") + 1] == str(tmp_path / LOCK_FILE)
    assert "--require-hashes" in command


def test_the_lock_pins_every_requirement_at_its_version() -> None:
    # Given the function's requirements and their lock
    pins = _lock_pins(CODE_ROOT / LOCK_FILE)
    requirements = _requirements(CODE_ROOT / REQUIREMENTS_FILE)
    # When each requirement is looked up in the lock
    problems = []
    for requirement in requirements:
        (specifier,) = requirement.specifier  # every requirement is pinned to one version
        locked = pins.get(canonicalize_name(requirement.name))
        if locked != specifier.version:
            problems.append(f"{requirement.name}: requirements.txt pins {specifier.version}, the lock {locked}")
    # Then every one is locked at the version requirements.txt pins (else: run `make lock`)
    assert requirements
    assert not problems, "lambda/requirements.lock is out of date, run `make lock`: " + "; ".join(problems)


def test_the_tests_run_against_the_locked_versions() -> None:
    # Given the lock
    pins = _lock_pins(CODE_ROOT / LOCK_FILE)
    # When the versions installed in this environment are read
    installed: dict[str, str | None] = {}
    for name in pins:
        try:
            installed[name] = version(name)
        except PackageNotFoundError:
            installed[name] = None
    # Then they are exactly the ones the function ships with (make dev installs the lock, then constrains to it)
    assert {name: found for name, found in installed.items() if found != pins[name]} == {}


def test_a_change_to_the_lock_alone_changes_the_assets_hash(tmp_path: Path) -> None:
    # Given two copies of the function's source that differ only in one transitive pin of the lock
    same, changed = tmp_path / "same", tmp_path / "changed"
    for root in (same, changed):
        shutil.copytree(CODE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    lock = changed / LOCK_FILE
    lock.write_text(lock.read_text(encoding="utf-8").replace("six==1.17.0", "six==1.16.0"), encoding="utf-8")
    assert lock.read_text(encoding="utf-8") != (same / LOCK_FILE).read_text(encoding="utf-8")
    # When the function's code asset is built from each
    # Then the assets' hashes differ, so a deploy ships the new dependency, while an unchanged source keeps its hash
    assert _asset_key(same) != _asset_key(changed)
    assert _asset_key(same) == _asset_key(CODE_ROOT)


@pytest.mark.slow
def test_synthesis_bundles_the_function_locally_without_docker(tmp_path: Path) -> None:
    # Given the app with bundling on, and CDK_DOCKER pointing nowhere (tests/infra/synthesis.py)
    app = app_with(bundle=True, outdir=tmp_path)
    # When it is synthesized
    app.synth()
    # Then the function's asset holds the code and arm64 builds of the compiled dependencies
    template = json.loads((tmp_path / "ConnectOutboundCaller.template.json").read_text(encoding="utf-8"))
    (function,) = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and logical_id.startswith("Caller")
    ]
    asset = tmp_path / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "outbound_caller" / "handler.py").is_file()
    assert not list(asset.rglob("__pycache__"))
    assert not (asset / REQUIREMENTS_FILE).exists()
    assert not (asset / LOCK_FILE).exists()
    for package in ("aws_lambda_powertools", "boto3", "pydantic", "aws_xray_sdk", "phonenumbers", "tzdata", "holidays"):
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
    # and holidays without its translations (the function never names a holiday), which still knows every national
    # holiday the full library knows, day for day, whatever the locale
    assert not (asset / "holidays" / "locale").exists()
    assert (DEVELOPMENT_HOLIDAYS / "locale").is_dir()  # the development copy has them: the comparison means something
    arguments = [json.dumps(HOLIDAY_REGIONS), json.dumps(HOLIDAY_YEARS)]
    days = [
        subprocess.run(
            [sys.executable, "-c", _HOLIDAY_DAYS, root, *arguments],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | FOREIGN_LOCALE,
        ).stdout
        for root in (str(asset), "")
    ]
    assert days[0] == days[1]
    assert all(json.loads(days[0])[region] for region in HOLIDAY_REGIONS)
