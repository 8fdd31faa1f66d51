"""The README's five-line example runs as written."""

import re
from datetime import UTC, datetime
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_earns(tmp_path, monkeypatch):
    block = re.search(r"## Five lines of Python\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loyalty.toml").write_text('[earn]\npending_days = 0\n')
    printed = []
    namespace = {"paid_at": datetime(2026, 5, 1, 12, tzinfo=UTC), "print": lambda *a: printed.append(a)}
    exec(compile(block, "README.md", "exec"), namespace)
    balance, history = printed[0]
    # 2 x 19.50 = 39.00 USD at 1 point per USD, available at once with pending_days = 0.
    assert balance.available == 39
    assert history == [(39, "order 1001: 39 points on spend")]
