"""A non-editable install finds its data from any directory."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def test_plain_install_finds_bundled_data(tmp_path):
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (target / "restore" / "wordlists" / "spinner_thesaurus.tsv").exists()
    assert (target / "restore" / "wordlists" / "topic_vectors.npz").exists()
    env = dict(os.environ, PYTHONPATH=str(target), RESTORE_CACHE_DIR=str(tmp_path / "cache"))
    # the console script's module, and python -m restore run beside a cli.py of the user's own
    # (which `import cli` would find first: the package loads its own by path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "cli.py").write_text('raise SystemExit("the user\'s own cli.py ran")\n', encoding="utf-8")
    for command, cwd in (
        ([sys.executable, "-c", "from cli import main; main()"], tmp_path),
        ([sys.executable, "-m", "restore"], work),
    ):
        proc = subprocess.run(
            [*command, "fix", "--diff", "none"],
            input="In a telephone name on Sunday, the minister mentioned the talks had failed.\n",
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "In a phone call on Sunday, the minister said the talks had failed.\n"
    import_check = subprocess.run(
        [sys.executable, "-c", "import restore, cli; print(restore.__file__, cli.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert str(target) in import_check.stdout.split()[0]
    assert str(target) in import_check.stdout.split()[1]


def test_sdist_carries_what_its_tests_need(tmp_path):
    """An sdist ships tests/test_*.py (setuptools adds them), so it must ship what they read too."""
    import tarfile

    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = proc.stdout.split()[-1]
    with tarfile.open(tmp_path / name) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    assert "cli.py" in members and "wordlists/topic_vectors.npz" in members
    assert {"tests/conftest.py", "tests/data/negative.txt", "samples/spun_article.txt"} <= members


def test_a_checkout_on_pythonpath_reads_its_own_wordlists(tmp_path):
    # an editable install maps restore.wordlists to its checkout; a second checkout (a worktree
    # being measured) put first on PYTHONPATH must still read the tables next to its own code
    import shutil

    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "restore", copy / "restore")
    (copy / "wordlists").mkdir()
    shutil.copy(ROOT / "wordlists" / "spinner_thesaurus.tsv", copy / "wordlists" / "spinner_thesaurus.tsv")
    out = subprocess.run(
        [sys.executable, "-c", "from restore.data import wordlist_dir; print(wordlist_dir())"],
        env={**os.environ, "PYTHONPATH": str(copy)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(copy / "wordlists")
