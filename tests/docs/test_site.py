"""The documentation site builds with `mkdocs build --strict`: every page in the nav, every link
and anchor found, nothing fetched from the internet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _build(site: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[dev]'")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's notice about MkDocs 2.0
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    build = _build(site)
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return site


def test_the_site_builds_strict(site: Path) -> None:
    for page in ("index.html", "quickstart/index.html", "program/index.html", "hooks/index.html",
                 "platforms/shopify/index.html", "deploy/index.html", "operations/index.html", "plugins/index.html"):
        assert (site / page).is_file(), page


def test_every_page_in_docs_is_in_the_nav(site: Path) -> None:
    pages = {path.relative_to(ROOT / "docs").with_suffix("").as_posix() for path in (ROOT / "docs").rglob("*.md")}
    assert [page for page in sorted(pages) if not (site / page.removesuffix("index") / "index.html").is_file()
            and not (site / page / "index.html").is_file()] == []
    navigation = (site / "index.html").read_text(encoding="utf-8")
    missing = [page for page in sorted(pages) if page != "index" and f'href="{page}/"' not in navigation]
    assert missing == [], "add these pages to the nav in mkdocs.yml"


def test_links_to_source_files_show_the_path(site: Path) -> None:
    hooks = (site / "hooks" / "index.html").read_text(encoding="utf-8")
    assert "loyalty_sdk/plugins/tiers.py" in hooks
    assert 'href="../loyalty_sdk/' not in hooks and 'href="../../loyalty_sdk/' not in hooks


def test_nothing_is_fetched_from_another_host(site: Path) -> None:
    remote = [f"{page.relative_to(site)}: {line.strip()[:120]}"
              for page in site.rglob("*.html") for line in page.read_text(encoding="utf-8").splitlines()
              if ('src="http' in line or "<link" in line and 'href="http' in line)]
    assert remote == []


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the missing page](missing.md).\n")
    (tmp_path / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text().split("\nnav:")[0]
                                         .replace("  - docs/_hooks/source_links.py",
                                                  f"  - {ROOT / 'docs/_hooks/source_links.py'}"))
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[dev]'")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                           cwd=tmp_path, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True,
                           text=True, timeout=300)
    assert build.returncode != 0
    assert "missing.md" in build.stderr
