"""The project's own plumbing: the README's two commands are the ones CI and the workflow run.

GitHub Actions cannot run here, so this test reads the workflow file and checks that it calls the
README's build and test commands; ``.ci/run`` must call the test command too. If anyone renames a
command in one place, the others fail here instead of drifting apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import tomllib
import yaml

import gcnlib

ROOT = Path(__file__).resolve().parents[1]


def readme_quick_start_commands() -> list[str]:
    """The commands in the first code block of the README's quick start, without comments."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def workflow_run_lines() -> dict[str, list[str]]:
    """Every ``run:`` line of the workflow, by job name."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    return {
        name: [step["run"].strip() for step in job["steps"] if "run" in step]
        for name, job in workflow["jobs"].items()
    }


def test_readme_quick_start_is_exactly_two_commands() -> None:
    assert readme_quick_start_commands() == ["make book", "make test"]


def test_ci_script_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in script if line.strip() and not line.strip().startswith("#")]
    assert commands[-1] == "make test", "the last thing .ci/run does must be the README's test command"
    assert "export GCNLIB_REQUIRE_BROWSER=1" in commands and "export GCNLIB_REQUIRE_PDF=1" in commands


def test_ci_installs_what_the_pdf_needs() -> None:
    """.ci/run and the workflow install the same TeX packages, and they include XeLaTeX."""
    packages = [
        line.strip()
        for line in (ROOT / ".ci" / "apt-packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {"texlive-xetex", "latexmk", "poppler-utils"} <= set(packages)
    assert ".ci/apt-packages.txt" in (ROOT / ".ci" / "run").read_text()
    for job, lines in workflow_run_lines().items():
        assert any(".ci/apt-packages.txt" in line for line in lines), f"job {job} installs no TeX"


def test_build_environment_is_pinned() -> None:
    """make setup installs under constraints.txt, which pins every package requirements.txt names."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt -r requirements.txt" in makefile
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name = re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
        if name and not line.startswith("#"):
            assert name in pinned, f"{name} (requirements.txt) is not pinned in constraints.txt"


def test_workflow_tests_every_push_and_publishes_the_book() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML reads `on:` as True
    assert "push" in triggers and "pull_request" in triggers
    runs = workflow_run_lines()
    assert "make test" in runs["test"]
    assert runs["publish"].index("make book") < runs["publish"].index("make pdf")
    steps = [step.get("uses", "") for step in workflow["jobs"]["publish"]["steps"]]
    assert any(s.startswith("actions/upload-pages-artifact") for s in steps)
    assert any(s.startswith("actions/deploy-pages") for s in steps)
    upload = next(
        s
        for s in workflow["jobs"]["publish"]["steps"]
        if s.get("uses", "").startswith("actions/upload-pages-artifact")
    )
    assert upload["with"]["path"] == "_build/html"


def test_makefile_has_the_readme_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("book", "test", "pdf", "notebooks", "lab", "unit"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile lacks `{target}`"


def test_one_repository_url_everywhere() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"]["Homepage"] == url
    assert f"git+{url}" in (ROOT / "README.md").read_text()
    assert url in (ROOT / "CITATION.cff").read_text()
    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):  # the install cell for Colab
        source = "\n".join(cell["source"] for cell in nbformat.read(chapter, 4).cells)
        for found in re.findall(r"git\+(https://[^\s\"']+)", source):
            assert found == url, f"{chapter.name} installs from {found}"
    assert config["html"]["use_repository_button"] and config["html"]["use_issues_button"]
    launch = config["launch_buttons"]
    assert launch["binderhub_url"] and launch["colab_url"] and launch["thebe"]


def test_package_metadata() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == "gcnlib"
    assert sorted(d.split(">")[0] for d in project["dependencies"]) == ["numpy", "scipy"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", gcnlib.__version__)
    package = ROOT / "gcnlib"
    assert (package / "py.typed").exists()
    assert (package / "data" / "cora.npz").exists() and (package / "data" / "citeseer.npz").exists()
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["gcnlib"]


def test_readme_example_runs() -> None:
    """The ten-line example in the README works as printed."""
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102
    grads = namespace["grads"]
    assert [g.shape for g in grads.W] == [(34, 8), (8, 2)]
    assert grads.A.shape == (34, 34) and grads.H0.shape == (34, 34)
