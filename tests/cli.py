"""Shared check for the pipelines' command lines: bad input ends with exit 2 and one clear line."""

import pytest


def assert_one_error_line(run, argv, message, capsys) -> None:
    """``run(argv)`` exits with status 2 and prints exactly one ``error: ...`` line naming ``message``."""
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
