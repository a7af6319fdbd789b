"""The hosted-notebook install (Colab) leaves the runtime's kernel, server and torch alone.

Colab runs its own Jupyter kernel on pinned versions of ipykernel, ipython, jupyter-client,
tornado, pyzmq, traitlets and ipywidgets; a pip install that upgrades one of them crashes the
runtime. Every chapter's setup cell (:data:`slavc_lite.teaching.tutorial.SETUP_CELL`) installs, on Colab
only, ``pip install --quiet --no-deps`` of :data:`slavc_lite.teaching.tutorial.COLAB_INSTALL`.

How the dependency closure is computed, without the network: the setup cell's own pip command is
read from its source (``ast``); a requirement's dependencies are read from package metadata:
slavc-lite's from ``pyproject.toml`` (what the GitHub install builds), every other package's from
its installed metadata in this environment (``importlib.metadata.requires``), recursively, with
environment markers and requested extras evaluated as pip does. With ``--no-deps`` pip installs
exactly the named requirements; the test also follows the full closure of the same list, so that
it stays free of kernel packages even if ``--no-deps`` were dropped. Versions are not resolved:
which packages a requirement pulls in is what matters here, not which release pip would pick.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from slavc_lite.teaching import tutorial

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

KERNEL_AND_SERVER = frozenset({
    "jupyter", "jupyterlab", "notebook", "nbclassic", "jupyter-server", "jupyter-client", "jupyter-core",
    "ipykernel", "ipython", "traitlets", "tornado", "pyzmq", "prompt-toolkit", "comm", "debugpy",
    "ipywidgets", "widgetsnbextension", "jupyterlab-widgets",
})
"""Packages that run the notebook server, the kernel or its widgets: a hosted runtime pins them."""

TORCH_TRIPLE = frozenset({"torch", "torchvision", "torchaudio"})

Requires = Callable[[str], list[str] | None]


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requires() -> list[str]:
    """slavc-lite's requirements as metadata lists them: extras' marked ``extra == "<name>"``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        for item in items:
            spec, _, marker = item.partition(";")
            condition = f'extra == "{extra}"' + (f" and ({marker.strip()})" if marker else "")
            specs.append(f"{spec.strip()}; {condition}")
    return specs


def environment_requires(name: str) -> list[str] | None:
    """A package's requirements: slavc-lite's from pyproject.toml, any other's as installed here.

    Raises:
        metadata.PackageNotFoundError: the package is not installed in this environment.
    """
    if normalize(name) == "slavc-lite":
        return pyproject_requires()
    return metadata.requires(name)


def closure(requirements: Iterable[str], requires: Requires = environment_requires) -> dict[str, list[str]]:
    """Every package that installing ``requirements`` with their dependencies brings in.

    Returns ``{name: chain}``, the chain being the packages that pull it in, from a requirement
    of the list to the package itself. Markers are evaluated for this interpreter and for the
    extras each package is asked for, as pip does.

    Raises:
        LookupError: a package in the closure whose requirements cannot be read (not installed).
    """
    found: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    queue = [(Requirement(spec), []) for spec in requirements]
    while queue:
        requirement, chain = queue.pop(0)
        name = normalize(requirement.name)
        found.setdefault(name, [*chain, name])
        extras = sorted(requirement.extras)
        wanted = [e for e in ["", *extras] if (name, e) not in seen]
        if not wanted:
            continue
        seen.update((name, e) for e in wanted)
        try:
            specs = requires(requirement.name) or []
        except metadata.PackageNotFoundError as exc:
            raise LookupError(f"cannot read the requirements of {name} (pulled in by "
                              f"{' -> '.join(found[name])}): it is not installed here") from exc
        for spec in specs:
            dependency = Requirement(spec)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in wanted):
                queue.append((dependency, found[name]))
    return found


def pip_install(args: Iterable[str], requires: Requires = environment_requires) -> dict[str, list[str]]:
    """What ``pip <args>`` installs (``args`` start with ``install``): names with their chains.

    With ``--no-deps`` pip resolves nothing and installs exactly the named requirements.
    """
    args = list(args)
    assert args[0] == "install", f"not a pip install: {args}"
    options = [a for a in args[1:] if a.startswith("-")]
    assert set(options) <= {"--quiet", "-q", "--no-deps"}, f"an option this check does not model: {options}"
    specs = [a for a in args[1:] if not a.startswith("-")]
    if "--no-deps" in options:
        return {normalize(Requirement(s).name): [normalize(Requirement(s).name)] for s in specs}
    return closure(specs, requires)


def setup_cell_pip_args(source: str = tutorial.SETUP_CELL) -> list[str]:
    """The arguments after ``python -m pip`` of the setup cell's ``subprocess.run``, read from its code."""
    tree = ast.parse(source)
    lists = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and ast.unparse(node.func) == "subprocess.run"]
    assert len(calls) == 1, "the setup cell runs exactly one command"
    command: list[str] = []
    for item in calls[0].args[0].elts:
        if isinstance(item, ast.Starred):
            command += lists[item.value.id]
        elif isinstance(item, ast.Constant):
            command.append(item.value)
        else:
            command.append(ast.unparse(item))
    assert command[:3] == ["sys.executable", "-m", "pip"], command
    return command[3:]


def _names(specs: Iterable[str]) -> set[str]:
    return {normalize(Requirement(s.split(";", 1)[0]).name) for s in specs}


def _pulled(found: dict[str, list[str]], names: Iterable[str]) -> list[str]:
    return [" -> ".join(found[n]) for n in sorted(set(found) & set(names))]


# ------------------------------------------------------------------------------------ the setup cell


def test_setup_cell_runs_pip_install_no_deps_of_the_colab_list_on_colab_only():
    assert setup_cell_pip_args() == ["install", "--quiet", "--no-deps", *tutorial.COLAB_INSTALL]
    assert 'if "google.colab" not in sys.modules:' in tutorial.SETUP_CELL
    assert 'importlib.util.find_spec("slavc_lite") is None' in tutorial.SETUP_CELL


def test_readme_shows_the_command_the_setup_cell_runs():
    shown = " ".join(a if a.startswith("-") or a == "install" else f'"{a}"' for a in setup_cell_pip_args())
    assert f"pip {shown}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_colab_install_holds_no_kernel_server_or_torch_package():
    installed = pip_install(setup_cell_pip_args())
    assert set(installed) == {"slavc-lite", "av"}
    assert not _pulled(installed, KERNEL_AND_SERVER | TORCH_TRIPLE)


def test_colab_list_stays_kernel_free_even_with_its_dependencies():
    """The same list without ``--no-deps`` (slavc-lite's own dependencies, PyAV's): no kernel package."""
    args = [a for a in setup_cell_pip_args() if a != "--no-deps"]
    installed = pip_install(args)
    assert {"slavc-lite", "av", "numpy", "librosa", "matplotlib", *TORCH_TRIPLE} <= set(installed)
    assert not _pulled(installed, KERNEL_AND_SERVER), "a dependency pulls in a kernel or server package"


def test_colab_has_or_gets_every_runtime_dependency():
    """Each base and ``video`` requirement is on Colab or in the install list (with pyproject's bound)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [*project["dependencies"], *project["optional-dependencies"]["video"]]
    added = [s for s in tutorial.COLAB_INSTALL if not s.startswith("slavc-lite @ ")]
    preinstalled = {normalize(n) for n in tutorial.COLAB_PREINSTALLED}
    assert _names(runtime) <= preinstalled | _names(added)
    assert not _names(added) & preinstalled, "the list installs a package that Colab already has"
    assert set(added) <= set(runtime), "the list's bounds are pyproject's"
    used_by_chapters = _names(project["optional-dependencies"]["notebooks"]) - KERNEL_AND_SERVER
    assert used_by_chapters - {"nbclient", "nbformat", "nbconvert"} <= preinstalled


def _run_setup_cell(monkeypatch, tmp_path, colab: bool) -> list[list[str]]:
    """Execute the setup cell as in a kernel without slavc_lite (on Colab or not); pip is not run."""
    monkeypatch.setenv("SLAVC_LITE_DATA", str(tmp_path))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "slavc_lite" else find_spec(name, *args))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    commands: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: commands.append(command))
    exec(compile(tutorial.SETUP_CELL, "setup-cell", "exec"), {})
    return commands


def test_setup_cell_on_colab_installs_the_list_and_says_so(monkeypatch, tmp_path, capsys):
    commands = _run_setup_cell(monkeypatch, tmp_path, colab=True)
    assert commands == [[sys.executable, "-m", "pip", *setup_cell_pip_args()]]
    out = capsys.readouterr().out
    assert f"Installed on Colab (pip --no-deps): {', '.join(tutorial.COLAB_INSTALL)}" in out
    assert "slavc_lite ready: Colab, torch" in out


def test_setup_cell_elsewhere_installs_nothing(monkeypatch, tmp_path):
    with pytest.raises(ModuleNotFoundError, match="make lab"):
        _run_setup_cell(monkeypatch, tmp_path, colab=False)


# ------------------------------------------------------------------------------------ the closure check


FAKE_METADATA = {
    "lesson": ["numpy>=2", "viewer[interactive]", "docs-tool; extra == 'docs'"],
    "viewer": ["pillow", "ipywidgets>=8; extra == 'interactive'"],
    "ipywidgets": ["ipython>=6.1", "traitlets", "comm"],
    "ipython": ["traitlets", "prompt_toolkit>=3", "pexpect; sys_platform == 'never'"],
    "numpy": None, "pillow": [], "traitlets": [], "comm": ["traitlets"], "prompt-toolkit": [],
    "broken": ["unknown-package"],
}


def _fake_requires(name: str) -> list[str] | None:
    if normalize(name) not in FAKE_METADATA:
        raise metadata.PackageNotFoundError(name)
    return FAKE_METADATA[normalize(name)]


def test_closure_finds_a_kernel_package_deep_in_the_tree():
    found = closure(["lesson"], _fake_requires)
    assert set(found) == {"lesson", "numpy", "viewer", "pillow", "ipywidgets", "ipython", "traitlets",
                          "comm", "prompt-toolkit"}  # no docs-tool (extra not asked), no pexpect (marker)
    assert _pulled(found, KERNEL_AND_SERVER)[0] == "lesson -> viewer -> ipywidgets -> comm"
    assert found["ipython"] == ["lesson", "viewer", "ipywidgets", "ipython"]
    assert "lesson -> viewer -> ipywidgets -> ipython -> prompt-toolkit" in _pulled(found, KERNEL_AND_SERVER)


def test_closure_follows_only_the_extras_asked_for():
    assert set(closure(["viewer"], _fake_requires)) == {"viewer", "pillow"}
    assert "ipywidgets" in closure(["viewer[interactive]"], _fake_requires)


def test_no_deps_installs_only_the_named_packages():
    assert set(pip_install(["install", "--no-deps", "lesson", "viewer[interactive]"], _fake_requires)) == \
        {"lesson", "viewer"}
    assert "ipython" in pip_install(["install", "lesson"], _fake_requires)


def test_closure_refuses_to_guess_what_it_cannot_read():
    with pytest.raises(LookupError, match="unknown-package .*broken -> unknown-package"):
        closure(["lesson", "broken"], _fake_requires)


def test_setup_cell_parser_reads_the_command_as_written():
    source = 'import subprocess, sys\nx = ["a>=1", "b"]\nsubprocess.run([sys.executable, "-m", "pip", ' \
             '"install", "-q", *x], check=True)\n'
    assert setup_cell_pip_args(source) == ["install", "-q", "a>=1", "b"]
    assert set(pip_install(["install", "-q", "lesson"], _fake_requires)) >= {"lesson", "ipython"}


# ------------------------------------------------------------------------------------ after the install


def test_unmet_requirements_names_what_is_missing_or_too_old(monkeypatch):
    specs = ["numpy>=2.0", "torch>=2.1", "av>=11; extra == 'video'", "jupyterlab>=4.0; extra == 'notebooks'"]
    versions = {"numpy": "1.26.4", "torch": "2.6.0+cu124"}

    def version(name: str) -> str:
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(metadata, "requires", lambda name: specs)
    monkeypatch.setattr(metadata, "version", version)
    assert tutorial.unmet_requirements() == ["numpy>=2.0 (found 1.26.4)", "av>=11 (missing)"]
    assert tutorial.unmet_requirements(extras=()) == ["numpy>=2.0 (found 1.26.4)"]


def test_setup_warns_about_unmet_requirements(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SLAVC_LITE_DATA", str(tmp_path))
    monkeypatch.setattr(tutorial, "unmet_requirements", lambda extras=("video",): ["av>=11 (missing)"])
    tutorial.setup()
    assert "Warning: slavc_lite needs av>=11 (missing)" in capsys.readouterr().out
    monkeypatch.setattr(tutorial, "unmet_requirements", lambda extras=("video",): [])
    tutorial.setup()
    assert "Warning" not in capsys.readouterr().out


def test_this_environment_meets_the_runtime_requirements():
    assert tutorial.unmet_requirements() == []
