"""Every fenced code block in docs/**/*.md and README.md runs, each as its own test (``page:line``).

What "runs" means depends on the block's language; a block in a language not listed here fails
(``test_every_block_is_in_a_language_the_runner_knows``), so nothing is skipped silently:

- ``python``: exec'd with the working directory a fresh temporary directory holding the
  ``loyalty.toml`` that ``loyalty init`` writes, and ``LOYALTY_DATABASE_URL`` naming a fresh SQLite
  file there. **Blocks of one page share one namespace**: a block runs after the page's earlier
  python blocks, so it may use what they defined. Names a page leaves to its reader are given in
  ``GIVEN`` (the README's ``paid_at``; the hooks reference shows hook functions alone and gets
  ``hookimpl``). Functions marked ``@hookimpl`` are then registered against the hookspecs: an
  implementation of a hook that does not exist, or with an argument the hook does not have, fails.
  A block titled as a file (```` ```python title="bean_bonus.py" ````) is also written to that
  file in the directory, so later blocks can import it; one titled ``test_*.py`` is not exec'd
  but run with pytest there (the SDK's fixtures load as they do for any user) and must pass.
- ``toml``: a program (must load with ``program_from_toml``), unless the info string names
  another file, e.g. ```` ```toml title="shopify.app.toml" ````: then it must be valid TOML.
- ``console``: ``$ loyalty ...`` lines are run (through ``loyalty_sdk.cli.app``) and must exit 0;
  the lines under a command are output that must appear in what it printed (compared with
  runs of spaces collapsed; a line ``...`` stands for anything). The page's console blocks run in
  order in one fresh directory and database, with ``LOYALTY_SECRET_KEY`` set, so a block may
  use the shops and keys an earlier one made. Only ``loyalty`` commands may appear, and not
  ``loyalty serve`` or ``loyalty worker``, which run until stopped: show those in ``sh``.
- ``sh``: not run (these start servers, install packages, or touch real stores). Each line
  that runs ``loyalty`` must name a real command, and each ``--option`` shown must be one of that
  command's options (``[--json]`` marks an optional one); each ``make TARGET`` must be a Makefile
  target.
- ``text``: diagrams and sample output; not run, but must not hold ``$`` command lines.
- ``csv``: every row has as many fields as the header.

In every block, each ``LOYALTY_*`` variable named must be one the code reads.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import tomllib
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pluggy
import pytest
import typer
from typer.testing import CliRunner

from loyalty_sdk.core import hookspecs
from loyalty_sdk.core.program import default_program_text, program_from_toml

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
LANGUAGES = {"python", "toml", "console", "sh", "text", "csv"}
GIVEN: dict[str, dict[str, Any]] = {
    "README.md": {"paid_at": datetime(2026, 3, 2, 15, 0, tzinfo=UTC)},  # "a timezone-aware datetime"
    "hooks.md": {"hookimpl": hookspecs.hookimpl},
}
FENCE = re.compile(r"^```([\w-]*)(.*)$")
SECRET_KEY = "docs-samples-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    info: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The page's fenced blocks (top-level fences of three backticks)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        yield Block(page, index + 1, opening.group(1), opening.group(2).strip(), "\n".join(lines[index + 1:end]))
        index = end + 1


ALL = [block for page in PAGES for block in blocks(page)]


def of(language: str) -> list[Any]:
    return [pytest.param(block, id=block.id) for block in ALL if block.language == language]


def test_the_pages_have_samples_to_run() -> None:
    assert {"python", "toml", "console", "sh"} <= {block.language for block in ALL}


def test_every_block_is_in_a_language_the_runner_knows() -> None:
    unknown = [f"{block.id}: ```{block.language}" for block in ALL if block.language not in LANGUAGES]
    assert unknown == [], "give each block a language the sample runner knows " + str(sorted(LANGUAGES))


# -- settings: only real ones --------------------------------------------------------------------

def _variables_the_code_reads() -> set[str]:
    from loyalty_sdk.settings import Settings

    found = {f"LOYALTY_{name.upper()}" for name in Settings.model_fields}
    for source in [*(ROOT / "loyalty_sdk").rglob("*.py"), *(ROOT / "plugins").glob("*/loyalty_*/*.py")]:
        found.update(re.findall(r"LOYALTY_[A-Z0-9_]*[A-Z0-9]", source.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in ALL if "LOYALTY_" in b.code])
def test_every_loyalty_variable_named_is_one_the_code_reads(block: Block) -> None:
    named = set(re.findall(r"LOYALTY_[A-Z0-9_]*[A-Z0-9]", block.code))
    assert named - _variables_the_code_reads() == set()


# -- python --------------------------------------------------------------------------------------

def _hook_implementations(namespace: dict[str, Any]) -> dict[str, Any]:
    marker = f"{hookspecs.PROJECT}_impl"
    return {name: value for name, value in namespace.items() if callable(value) and hasattr(value, marker)}


@pytest.mark.parametrize("block", of("python"))
def test_python_sample_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", f"sqlite:///{tmp_path}/loyalty.db")
    for variable in ("LOYALTY_PROGRAM", "LOYALTY_DISABLED_PLUGINS", "LOYALTY_LOAD_PLUGINS"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "loyalty.toml").write_text(default_program_text(), encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "docs_sample", **GIVEN.get(block.page.name, {})}
    earlier = [b for b in blocks(block.page) if b.language == "python" and b.line < block.line]
    monkeypatch.syspath_prepend(str(tmp_path))
    environment = dict(os.environ)  # a sample may set switches such as LOYALTY_DISABLED_PLUGINS
    try:
        _run_python(block, [*earlier, block], namespace, tmp_path)
    finally:
        os.environ.clear()
        os.environ.update(environment)


def _run_python(block: Block, samples: list[Block], namespace: dict[str, Any], tmp_path: Path) -> None:
    for sample in samples:
        name = _file_named(sample.info)
        if name is not None:
            (tmp_path / name).write_text(sample.code + "\n", encoding="utf-8")
        if name is not None and name.startswith("test_"):
            if sample is block:
                _passes_pytest(tmp_path, name, block)
            continue
        try:
            exec(compile(sample.code, sample.id, "exec"), namespace)  # noqa: S102 - running the docs is the point
        except Exception as error:
            where = "" if sample is block else f" (an earlier block this one builds on, {sample.id})"
            raise AssertionError(f"{sample.id} failed{where}: {type(error).__name__}: {error}") from error
    implementations = _hook_implementations(namespace)
    if implementations:
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        manager.register(types.SimpleNamespace(**implementations), name=block.id)
        manager.check_pending()


def _passes_pytest(directory: Path, name: str, block: Block) -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name], cwd=directory,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"{block.id}: pytest {name} failed:\n{run.stdout}\n{run.stderr}"


# -- toml ----------------------------------------------------------------------------------------

def _file_named(info: str) -> str | None:
    match = re.search(r'title="([^"]+)"', info)
    return match.group(1) if match else None


@pytest.mark.parametrize("block", of("toml"))
def test_toml_sample_loads(block: Block) -> None:
    name = _file_named(block.info)
    if name is None or name == "loyalty.toml":
        program_from_toml(block.code, source=block.id)
    else:
        tomllib.loads(block.code)


# -- console -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    argv: list[str]
    shown: list[str]


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            argv = shlex.split(line[2:], comments=True)
            assert argv and argv[0] == "loyalty", f"{block.id}: console blocks run only `loyalty` commands: {line}"
            assert argv[1:2] not in (["serve"], ["worker"]), f"{block.id}: {line} runs until stopped: use a sh block"
            found.append(Command(argv[1:], []))
        elif line.strip():
            assert found, f"{block.id}: output before any command: {line}"
            found[-1].shown.append(line)
    return found


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _appears_in_order(shown: list[str], output: str) -> str | None:
    """The first shown line missing from ``output`` (after the previous one), or None."""
    rest = _squeeze(output)
    for line in shown:
        if line.strip() == "...":
            continue
        position = rest.find(_squeeze(line))
        if position < 0:
            return line
        rest = rest[position + len(_squeeze(line)):]
    return None


@pytest.mark.parametrize("block", of("console"))
def test_console_sample_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty_sdk.cli import app

    monkeypatch.chdir(tmp_path)
    env = {"LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/loyalty.db", "LOYALTY_SECRET_KEY": SECRET_KEY,
           "LOYALTY_PROGRAM": None, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    runner = CliRunner()
    earlier = [b for b in blocks(block.page) if b.language == "console" and b.line < block.line]
    for sample in [*earlier, block]:
        for command in commands(sample):
            result = runner.invoke(app, command.argv, env=env, catch_exceptions=False)
            output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
            assert result.exit_code == 0, f"{sample.id}: `loyalty {shlex.join(command.argv)}` exited " \
                                          f"{result.exit_code}:\n{output}"
            if sample is block:
                missing = _appears_in_order(command.shown, output)
                assert missing is None, f"{sample.id}: `loyalty {shlex.join(command.argv)}` did not print " \
                                        f"{missing!r}; it printed:\n{output}"


# -- sh ------------------------------------------------------------------------------------------

def shell_lines(code: str) -> Iterator[str]:
    """Logical lines, continuations joined, comments and blanks dropped."""
    joined = code.replace("\\\n", " ")
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            yield shlex.join(words)


def _loyalty_words(line: str) -> list[str] | None:
    words = shlex.split(line)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]  # VAR=value before the command
    return words[1:] if words and words[0] == "loyalty" else None


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The click command the words name, and the words left for it."""
    from loyalty_sdk.cli import app

    command = typer.main.get_command(app)
    # Typer bundles its own click: its classes, not click's, so a group is what lists commands.
    context = command.context_class(command, info_name="loyalty")
    while hasattr(command, "list_commands") and words and not words[0].startswith("-"):
        found = command.get_command(context, words[0])
        assert found is not None, f"`{words[0]}` is not a command of `{context.command_path}`"
        command, words = found, words[1:]
        context = command.context_class(command, parent=context, info_name=command.name)
    return command, words


@pytest.mark.parametrize("block", of("sh"))
def test_sh_sample_names_real_commands_and_options(block: Block) -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for line in shell_lines(block.code):
        words = shlex.split(line)
        if words[0] == "make":
            assert set(words[1:]) <= targets, f"{block.id}: no Makefile target in {line!r}"
            continue
        args = _loyalty_words(line)
        if args is None:
            continue
        command, rest = _resolve(args)
        options = {option for param in command.params for option in (*param.opts, *param.secondary_opts)}
        options.add("--help")
        for word in rest:
            for part in re.split(r"[\[\]|]", word):
                if part.startswith("--"):
                    assert part.split("=", 1)[0] in options, f"{block.id}: `loyalty {' '.join(args)}`: " \
                                                             f"{part} is not an option of {command.name}"


# -- text, csv -----------------------------------------------------------------------------------

@pytest.mark.parametrize("block", of("text"))
def test_text_sample_holds_no_commands(block: Block) -> None:
    assert block.code.strip()
    assert not [line for line in block.code.splitlines() if line.startswith("$ ")], \
        f"{block.id}: commands belong in a console or sh block"


@pytest.mark.parametrize("block", of("csv"))
def test_csv_sample_rows_match_the_header(block: Block) -> None:
    header, *rows = list(csv.reader(io.StringIO(block.code)))
    assert rows and all(len(row) == len(header) for row in rows)


# -- the runner's own checks bite ----------------------------------------------------------------

def test_blocks_are_found_with_their_language_title_and_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('# T\n\n```python title="a.py"\nx = 1\n```\n\ntext\n\n```yaml\nk: v\n```\n')
    found = list(blocks(page))
    assert [(b.line, b.language, _file_named(b.info), b.code) for b in found] == [
        (3, "python", "a.py", "x = 1"), (9, "yaml", None, "k: v")]


def test_shown_output_must_appear_in_order() -> None:
    printed = "added shop 'acme'\n{\n  \"ok\":   true\n}\n"
    assert _appears_in_order(["added shop 'acme'", "...", '"ok": true'], printed) is None
    assert _appears_in_order(['"ok": true', "added shop 'acme'"], printed) == "added shop 'acme'"


def test_a_command_or_option_that_does_not_exist_is_caught() -> None:
    command, rest = _resolve(["shops", "add", "stripe", "acme", "--currency", "USD"])
    assert command.name == "add" and rest == ["stripe", "acme", "--currency", "USD"]
    with pytest.raises(AssertionError, match="`teleport` is not a command of `loyalty shops`"):
        _resolve(["shops", "teleport"])
    bad = Block(ROOT / "README.md", 1, "sh", "", "loyalty doctor --fix")
    with pytest.raises(AssertionError, match="--fix is not an option of doctor"):
        test_sh_sample_names_real_commands_and_options(bad)
