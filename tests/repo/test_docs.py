"""The documentation: ``mkdocs build --strict`` passes, and every command and Python snippet of
README.md and docs/ runs, on the real data.

Each page runs in a scratch folder laid out like a checkout beside the data (``emosweep/``
with the repository's sweeps, bench and cluster folders, and ``shared/data`` pointing at
$EMOSWEEP_DATA), its blocks in order, so a page's later blocks read what its earlier ones
wrote. A block that cannot run here carries a marker on the line before it (docs/contributing.md,
"The docs"): ``<!-- doc-test: MODE | reason -->``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.spec.sweep import SweepSpec

pytestmark = pytest.mark.slow(minutes=15)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINKED = ("sweeps", "bench", "cluster", "emotrain", "orchestrator", "Makefile", "pyproject.toml")
RUN = "python -m orchestrator.run"
_FENCE = re.compile(
    r"(?:<!-- doc-test: (?P<marker>[^\n]*?) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)
_INSTEAD = re.compile(r"instead `(?P<command>[^`]+)`")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    body: str
    marker: str | None

    @property
    def mode(self) -> str | None:
        if self.marker is None:
            return None
        mode, _, reason = self.marker.partition(" | ")
        assert reason.strip(), f"{self}: a marker says why the block cannot run as written"
        return mode.strip()

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    return [
        Block(page, text.count("\n", 0, m.start("body")), m["lang"], m["body"], m["marker"])
        for m in _FENCE.finditer(text)
    ]


def _ids(page: Path) -> str:
    return str(page.relative_to(REPO))


def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "training" / "index.html").read_text()
    assert "loss.reduction" in reference and "data.preprocess.hashtag_words" in reference
    assert "search.space" in (tmp_path / "site" / "reference" / "sweep" / "index.html").read_text()


def test_the_readme_is_short_and_design_md_is_gone() -> None:
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
    tracked = subprocess.run(
        ["git", "grep", "-l", "DESIGN" + ".md", "--", ".", ":!docs"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert tracked.stdout == "", tracked.stdout


def test_every_field_is_described() -> None:
    sys.path.insert(0, str(REPO / "docs" / "hooks"))
    import reference

    for uri, page in reference.pages().items():
        for row in page.splitlines():
            if row.startswith("| `"):
                assert not row.rstrip().endswith("|  |"), f"{uri}: {row}"


def test_bench_commands_name_real_flags() -> None:
    """The benches run minutes to hours, or need a GPU: their commands in performance.md are
    checked against the scripts' own arguments."""
    text = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    commands = re.findall(r"`(?:HF_HUB_OFFLINE=1 )?python (bench/\w+\.py)([^`]*)`", text)
    assert len(commands) >= 10
    helps: dict[str, str] = {}
    for script, arguments in commands:
        if script not in helps:  # the script's own --help: its arguments, wherever defined
            helps[script] = subprocess.run(
                [sys.executable, str(REPO / script), "--help"], capture_output=True, text=True,
                check=True, cwd=REPO / "bench", env={**os.environ, "HF_HUB_OFFLINE": "1"},
            ).stdout  # fmt: skip
        for flag in re.findall(r"--[\w-]+", arguments):
            assert flag in helps[script], f"{script} has no {flag}"
    for name in re.findall(r"`(\w+(?:\.h100)?\.json)`", text):
        assert (REPO / "bench" / "measured" / name).is_file(), name


def _workdir(tmp_path: Path, data_root: Path) -> Path:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(data_root)
    work = tmp_path / "emosweep"
    work.mkdir()
    for name in LINKED:
        (work / name).symlink_to(REPO / name)
    return work


def _shell(block: Block) -> str:
    script = block.body.replace("\\\n", " ")
    if block.mode == "dry-run":
        assert RUN in script, f"{block}: dry-run marks a block of sweeps"
        script = "\n".join(
            re.sub(r"^(\s*[^#]*?" + re.escape(RUN) + r"[^#]*?)(\s+#.*)?$", r"\1 --dry-run", line)
            for line in script.splitlines()
        )
    elif block.mode and (instead := _INSTEAD.match(block.mode)):
        script = instead["command"]
    elif block.mode is not None:
        raise AssertionError(f"{block}: unknown marker {block.marker!r} for a shell block")
    return "set -euo pipefail\n" + script


def _run(block: Block, work: Path, env: dict[str, str]) -> None:
    if block.lang == "bash":
        command = ["bash", "-c", _shell(block)]
    elif block.lang == "python":
        assert block.mode is None, f"{block}: Python snippets run as written"
        command = [sys.executable, "-c", block.body]
    elif block.lang == "yaml":
        _check_yaml(block)
        return
    else:
        assert block.lang == "text", f"{block}: a fence names its language (text is not run)"
        return
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=work, env=env)
    assert done.returncode == 0, f"{block}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _check_yaml(block: Block) -> None:
    value = yaml.safe_load(block.body)
    if block.mode == "sweep":
        SweepSpec.model_validate(value)
    elif block.mode == "fragment":
        smoke = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text(encoding="utf-8"))
        SweepSpec.model_validate({**smoke, **value})
    else:
        raise AssertionError(f"{block}: a YAML block is marked sweep or fragment")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tokenized-data cache for every page, as a user's machine keeps one: a page's first
    run of a dataset prepares it, later pages read it."""
    return tmp_path_factory.mktemp("emotrain-cache")


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_the_page_runs(page: Path, tmp_path: Path, data_root: Path, shared_cache: Path) -> None:
    work = _workdir(tmp_path, data_root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)  # the commands' python is this one
    path = [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
    env = {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "EMOTRAIN_CACHE": str(shared_cache),
        # The data folder as the docs ask a user to name it; shared/data beside the checkout.
        "EMOSWEEP_DATA": str(work.parent / "shared" / "data"),
        "EMOSWEEP_MIRROR": str(tmp_path / "mirror"),
    }
    for block in blocks(page):
        _run(block, work, env)


def test_markers_are_known() -> None:
    for page in PAGES:
        for block in blocks(page):
            if block.mode is None:
                continue
            known = block.mode in {"dry-run", "sweep", "fragment"} or _INSTEAD.match(block.mode)
            assert known, f"{block}: {block.marker}"
            assert shlex.split(block.mode)  # a well-formed marker


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_no_block_hides_from_the_collector(page: Path) -> None:
    """The collector reads fences at the start of a line: an indented one would never run."""
    lines = page.read_text(encoding="utf-8").splitlines()
    hidden = [n for n, line in enumerate(lines, 1) if line.lstrip().startswith("```")
              and not line.startswith("```")]  # fmt: skip
    assert not hidden, f"{page.relative_to(REPO)}: indented code fences at lines {hidden}"
