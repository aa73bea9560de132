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
    proc = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "fix", "--diff", "none"],
        input="In a telephone name on Sunday, the minister mentioned the talks had failed.\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
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
