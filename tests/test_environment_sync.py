"""environment.yml (conda-forge, for users) lists the same packages and lower bounds as pyproject."""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: conda-forge package names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch", "pysoundfile": "soundfile", "soxr-python": "soxr"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9][0-9A-Za-z.]*)?\s*$")


def _parse(spec: str) -> tuple[str, str]:
    spec = spec.split(";", 1)[0]  # environment markers (conda installs such packages always)
    match = REQUIREMENT.match(spec)
    assert match, f"cannot parse requirement {spec!r}"
    return match.group(1).lower(), (match.group(2) or "").replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return dict(_parse(s) for s in specs)


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for item in env["dependencies"]:
        if not isinstance(item, str):
            continue  # the pip: section installs this package itself
        name, bound = _parse(item)
        if name in ("python", "pip"):
            continue
        out[CONDA_TO_PYPI.get(name, name)] = bound
    return out


def test_environment_yml_mirrors_pyproject():
    assert _conda_requirements() == _pyproject_requirements()


def test_every_dependency_has_a_lower_bound_and_no_pin():
    for name, bound in _pyproject_requirements().items():
        assert bound.startswith(">="), f"{name} needs a lower bound (>=), not an exact pin"


def test_python_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{project['requires-python']}" in env["dependencies"]
