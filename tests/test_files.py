"""ganbench.files: the checks of paths a user gives for output and input (atomic writes are pinned by their users)."""
from __future__ import annotations

import pytest

from ganbench.files import input_file, output_dir, output_file
from ganbench.registry import ConfigError


def test_output_dir_is_created_or_refused_when_a_file(tmp_path):
    assert output_dir(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("keep")
    with pytest.raises(ConfigError, match=r"--out '.*f' is a file, not a folder"):
        output_dir(tmp_path / "f", "--out")
    with pytest.raises(ConfigError, match=r"--out '/dev/null' is a file, not a folder"):
        output_dir("/dev/null", "--out")
    with pytest.raises(ConfigError, match=r"--out '.*f/x' is a file, not a folder|cannot create this folder"):
        output_dir(tmp_path / "f" / "x", "--out")
    assert (tmp_path / "f").read_text() == "keep"


def test_output_file_is_refused_when_a_folder_or_below_a_file(tmp_path):
    assert output_file(tmp_path / "new" / "t.csv", "--out") == tmp_path / "new" / "t.csv"
    with pytest.raises(ConfigError, match=r"--out '.*' is a folder; give a file name such as '.*out.json'"):
        output_file(tmp_path, "--out")
    (tmp_path / "f").write_text("keep")
    with pytest.raises(ConfigError, match=r"--out '.*f/x\.json': '.*f' is a file, not a folder"):
        output_file(tmp_path / "f" / "x.json", "--out")


def test_input_file_names_what_is_expected(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    assert input_file(tmp_path / "b.json", "--baseline", "a baseline") == tmp_path / "b.json"
    with pytest.raises(ConfigError, match=r"--baseline '.*' is a folder; expected a baseline"):
        input_file(tmp_path, "--baseline", "a baseline")
    with pytest.raises(ConfigError, match=r"--baseline '.*nope.json': no such file; expected a baseline"):
        input_file(tmp_path / "nope.json", "--baseline", "a baseline")


def test_unwritable_and_unreadable_paths(open_tmp, unprivileged):
    (open_tmp / "ro").mkdir(mode=0o555)
    (open_tmp / "secret.json").write_text("{}")
    (open_tmp / "secret.json").chmod(0)

    def attempt(fn, *args):
        try:
            fn(*args)
        except ConfigError as e:
            return str(e)
        return "accepted"
    assert unprivileged(lambda: attempt(output_dir, open_tmp / "ro", "--out")).endswith(
        "this folder is not writable; give a folder you can write to")
    assert unprivileged(lambda: attempt(output_dir, open_tmp / "ro" / "sub", "--out")).endswith(
        "cannot create this folder (Permission denied)")
    assert unprivileged(lambda: attempt(input_file, open_tmp / "secret.json", "--baseline", "a baseline")).endswith(
        "this file is not readable (permission denied)")


def test_sha256_file_is_the_files_sha256_read_in_blocks(tmp_path):
    import hashlib
    from ganbench.files import sha256_file
    data = bytes(range(256)) * 5000  # over one 1 MiB block
    (tmp_path / "w.bin").write_bytes(data)
    assert sha256_file(tmp_path / "w.bin") == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
