"""Build the in-browser copy of the chapters: JupyterLite with a Pyodide kernel, as static files.

``python lite/build_lite.py OUTPUT chapters/01_introduction.ipynb ...`` writes a JupyterLite site into
OUTPUT (the book's build puts it in ``_build/html/lite``; see ``_ext/run_in_browser.py``). Everything
the reader's browser fetches is in OUTPUT: the JupyterLite application and its extensions (widgets,
MyST), the Pyodide runtime with the packages the chapters import, the project's own wheel, and the
chapters. Nothing is requested from another host.

Where the Pyodide runtime comes from, in this order:

1. ``GCNLIB_PYODIDE_DIR``, a directory the reader sets;
2. otherwise ``../shared/pyodide-0.27.7`` beside the project, when it exists;
3. otherwise a cache outside the repository (``$XDG_CACHE_HOME/gcnlib-book``, by default
   ``~/.cache/gcnlib-book``), filled on first use from the npm package ``pyodide`` (the core files and
   the pinned lock file ``pyodide-lock.json``; the tarball's sha256 is pinned below) and from
   Pyodide's official release (exactly the package files the lock names, each checked against the
   lock's sha256).

Every package file is checked against the lock's sha256 whichever directory it comes from. When no
runtime can be had, :func:`find_runtime` says why, and the book builds without the in-browser path.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

PYODIDE_VERSION = "0.27.7"
# The npm tarball of pyodide@0.27.7: the runtime's core files and its lock of package files.
NPM_TARBALL = f"pyodide-{PYODIDE_VERSION}.tgz"
NPM_TARBALL_SHA256 = "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"
# Pyodide's official release of the package files (override for a mirror: GCNLIB_PYODIDE_BASE_URL).
RELEASE_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
CORE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
    "package.json",
)

# Pyodide packages the kernel and the chapters import; the lock adds their dependencies.
PYODIDE_PACKAGES = (
    "numpy",
    "scipy",
    "matplotlib",
    "ipython",
    "micropip",
    "packaging",
    "sqlite3",
    "ssl",
    "pyodide-unix-timezones",
)
# Pure-Python wheels added to the lock from the build environment, with their dependencies in the
# lock: gcnlib's optional extra "widgets" (ipywidgets, with matplotlib above) is what the explorers
# need. Other third-party modules the chapters import are found by reading the chapters.
EXTRA_WHEELS = {
    "comm": ["traitlets"],
    "ipywidgets": ["comm", "ipython", "traitlets"],
}
# Loaded while the kernel starts, so that a chapter's first cell finds them installed.
PRELOAD = ["gcnlib", "ipywidgets", "matplotlib"]


class RuntimeUnavailable(Exception):
    """No Pyodide runtime could be found or fetched; the message says where we looked."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gcnlib-book" / f"pyodide-{PYODIDE_VERSION}"


def package_files(lock: dict, names=PYODIDE_PACKAGES) -> dict[str, str]:
    """File name -> sha256 of ``names`` and everything they depend on, by the lock."""

    def key(name: str) -> str:  # the lock spells some names with "_" in "depends", "-" as keys
        return name.lower().replace("_", "-")

    packages = {key(name): entry for name, entry in lock["packages"].items()}
    todo, seen = [key(name) for name in names], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(key(dependency) for dependency in packages[name]["depends"])
    return {packages[n]["file_name"]: packages[n]["sha256"] for n in sorted(seen)}


def missing_files(directory: Path) -> list[str]:
    """The files of the runtime that ``directory`` lacks or holds with the wrong sha256."""
    if not (directory / "pyodide-lock.json").is_file():
        return ["pyodide-lock.json"]
    lock = json.loads((directory / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        return [f"pyodide-lock.json of version {PYODIDE_VERSION} (found {lock['info']['version']})"]
    missing = [name for name in CORE_FILES if not (directory / name).is_file()]
    for name, expected in package_files(lock).items():
        path = directory / name
        if not path.is_file():
            missing.append(name)
        elif sha256(path) != expected:
            missing.append(f"{name} (sha256 differs from the lock)")
    return missing


def runtime_size(runtime: Path) -> int:
    """Bytes of the runtime files the site serves: the most a reader's browser downloads of them."""
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    return sum((runtime / name).stat().st_size for name in [*CORE_FILES, *package_files(lock)])


def find_runtime() -> Path:
    """The directory of the Pyodide runtime, fetched into the cache if need be."""
    chosen = os.environ.get("GCNLIB_PYODIDE_DIR")
    if chosen:
        candidates = [Path(chosen).expanduser()]
    else:
        candidates = [ROOT.parent / "shared" / f"pyodide-{PYODIDE_VERSION}", cache_dir()]
    for directory in candidates:
        if directory.is_dir() and not missing_files(directory):
            return directory.resolve()
    if chosen:
        if not Path(chosen).is_dir():
            raise RuntimeUnavailable(f"GCNLIB_PYODIDE_DIR={chosen} is not a directory")
        what = ", ".join(missing_files(Path(chosen))[:3])
        raise RuntimeUnavailable(f"GCNLIB_PYODIDE_DIR={chosen} lacks {what}")
    try:
        return download_runtime(cache_dir())
    except (OSError, subprocess.SubprocessError, tarfile.TarError, KeyError) as error:
        # offline, no npm, or the files are not to be had
        raise RuntimeUnavailable(
            f"no Pyodide {PYODIDE_VERSION} beside the project ({candidates[0]}), none cached in "
            f"{cache_dir()}, and the download failed ({error})"
        ) from error


def download_runtime(target: Path) -> Path:
    """Fetch the runtime into ``target``: npm for the core and the lock, the release for packages."""
    target.mkdir(parents=True, exist_ok=True)
    if any(not (target / name).is_file() for name in CORE_FILES):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                ["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
            )
            tarball = Path(tmp) / NPM_TARBALL
            if sha256(tarball) != NPM_TARBALL_SHA256:
                raise OSError(f"{NPM_TARBALL} does not have the pinned sha256")
            with tarfile.open(tarball) as archive:
                for name in CORE_FILES:
                    member = archive.extractfile(f"package/{name}")
                    (target / name).write_bytes(member.read())
    lock = json.loads((target / "pyodide-lock.json").read_text())
    base = os.environ.get("GCNLIB_PYODIDE_BASE_URL", RELEASE_URL)
    for name, expected in package_files(lock).items():
        path = target / name
        if path.is_file() and sha256(path) == expected:
            continue
        with urllib.request.urlopen(base + name, timeout=60) as response:
            data = response.read()
        if hashlib.sha256(data).hexdigest() != expected:
            raise OSError(f"{name} from {base} does not match the sha256 in pyodide-lock.json")
        path.write_bytes(data)
    return target


def run(command: list[str], cwd: Path | None = None) -> None:
    """Run a build step quietly; on failure raise with its output, so that the reason is visible."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stdout}{done.stderr}")


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def imported_modules(notebooks: list[Path]) -> set[str]:
    """Top-level names of every module the notebooks' code cells import (magics skipped)."""
    modules = set()
    for notebook in notebooks:
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).splitlines()
            code = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules


def pure_wheels(notebooks: list[Path], lock: dict) -> dict[str, list[str]]:
    """Distribution -> its dependencies, for each pure-Python wheel the site adds to the lock.

    EXTRA_WHEELS, and every third-party module the chapters import that the served Pyodide packages
    do not provide (for example autograd), with what they depend on in turn.
    """
    served = {
        canonical(package["name"])
        for package in lock["packages"].values()
        if package["file_name"] in package_files(lock)
    }
    provided = {
        module
        for package in lock["packages"].values()
        if canonical(package["name"]) in served
        for module in package["imports"]
    }
    distributions = metadata.packages_distributions()
    wanted = {name: list(depends) for name, depends in EXTRA_WHEELS.items()}
    todo = [
        canonical(dist)
        for module in sorted(imported_modules(notebooks))
        if module not in sys.stdlib_module_names and module not in provided and module != "gcnlib"
        for dist in distributions.get(module, [module])
    ]
    while todo:
        name = todo.pop()
        if name in wanted or name in served:
            continue
        depends = []
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                depends.append(canonical(requirement.name))
        wanted[name] = depends
        todo.extend(depends)
    return wanted


def build_wheels(directory: Path, wanted: dict[str, list[str]]) -> dict[str, Path]:
    """gcnlib's wheel from the working tree, and the pure-Python wheels of ``wanted``.

    The wheels have the versions installed in the build environment: the browser's ipywidgets, for
    one, then speaks the same protocol as the widget extension the site ships.
    """
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(directory), str(ROOT)])
    pinned = [f"{name}=={metadata.version(name)}" for name in wanted]
    run([*pip, "download", "--no-deps", "--only-binary=:all:", "-d", str(directory), *pinned])
    wheels = {canonical(wheel.name.split("-")[0]): wheel for wheel in directory.glob("*.whl")}
    compiled = [wheel.name for wheel in wheels.values() if not wheel.name.endswith("-none-any.whl")]
    if compiled:
        raise RuntimeError(f"Pyodide cannot install these wheels, which are not pure Python: {compiled}")
    return wheels


def lock_entry(name: str, wheel: Path, depends: list[str]) -> dict:
    modules = [
        module
        for module, dists in metadata.packages_distributions().items()
        if name in map(canonical, dists) and module.isidentifier()
    ]
    return {
        "name": name,
        "version": wheel.name.split("-")[1],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256(wheel),
        "package_type": "package",
        "imports": sorted(modules) or [name.replace("-", "_")],
        "depends": depends,
        "unvendored_tests": False,
    }


def stage_runtime(runtime: Path, notebooks: list[Path], target: Path, work: Path) -> None:
    """Copy the runtime's files the site needs into ``target``, with the added wheels in its lock."""
    target.mkdir(parents=True)
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    for name in [*CORE_FILES, *package_files(lock)]:
        shutil.copy2(runtime / name, target / name)
    wanted = pure_wheels(notebooks, lock)
    wheels = build_wheels(work, wanted)
    for name, depends in {**wanted, "gcnlib": ["numpy", "scipy"]}.items():
        shutil.copy2(wheels[name], target / wheels[name].name)
        lock["packages"][name] = lock_entry(name, wheels[name], depends)
    # The site serves the official lock plus the entries above; the original is kept beside it.
    shutil.copy2(runtime / "pyodide-lock.json", target / "pyodide-lock.orig.json")
    (target / "pyodide-lock.json").write_text(json.dumps(lock, sort_keys=True))


def stage_notebook(source: Path, target: Path) -> None:
    """The chapter with a first cell that says where the reader is and what renders differently."""
    notebook = json.loads(source.read_text())
    note = json.loads((HERE / "note.json").read_text())
    notebook["cells"].insert(0, note)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def build(output: Path, notebooks: list[Path], runtime: Path) -> None:
    """Write the JupyterLite site into ``output`` (replacing it), for ``notebooks``."""
    with tempfile.TemporaryDirectory(prefix="gcnlib-lite-") as tmp:
        work = Path(tmp)
        lite_dir, contents, site = work / "lite", work / "contents", work / "site"
        lite_dir.mkdir()
        config = json.loads((HERE / "jupyter-lite.json").read_text())
        kernel = config["jupyter-config-data"]["litePluginSettings"][
            "@jupyterlite/pyodide-kernel-extension:kernel"
        ]
        kernel["loadPyodideOptions"]["packages"] = PRELOAD
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=2))
        shutil.copy2(HERE / "overrides.json", lite_dir / "overrides.json")
        # The console app (the explorers' live buttons) has no notebooks: jupyterlab-myst's plugin
        # for notebooks would fail to start there, so the console goes without it.
        (lite_dir / "repl").mkdir()
        repl = {"jupyter-config-data": {"disabledExtensions": ["jupyterlab-myst"]}}
        (lite_dir / "repl" / "jupyter-lite.json").write_text(json.dumps(repl, indent=2))
        for notebook in notebooks:
            relative = notebook.resolve().relative_to(ROOT)
            stage_notebook(notebook, contents / relative)
        run(
            [
                str(Path(sys.executable).with_name("jupyter-lite")),
                "build",
                "--lite-dir",
                str(lite_dir),
                "--output-dir",
                str(site),
                "--contents",
                str(contents),
                "--no-sourcemaps",
                "--apps",
                "lab",
                "--apps",
                "notebooks",
                "--apps",
                "tree",
                "--apps",
                "repl",
            ],
            cwd=work,
        )
        stage_runtime(runtime, notebooks, site / "static" / "pyodide", work / "wheels")
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(site, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="directory to write the JupyterLite site into")
    parser.add_argument("notebooks", type=Path, nargs="+", help="the chapters to include")
    args = parser.parse_args(argv)
    try:
        runtime = find_runtime()
    except RuntimeUnavailable as why:
        print(f"No in-browser path: {why}", file=sys.stderr)
        return 1
    build(args.output, args.notebooks, runtime)
    print(f"JupyterLite site with Pyodide from {runtime} written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
