""""did you mean" for a mistyped sub-command, action or option (issue 14)."""

from __future__ import annotations

import pytest

from bench.cli.main import main


@pytest.mark.parametrize(("argv", "hint"), [
    (["rnu"], "did you mean 'run'?"),
    (["bnch"], "did you mean 'bench'?"),
    (["models", "lsit"], "did you mean 'list'?"),
    (["run", "cfg.yaml", "--repetiton", "2"], "--repetiton: did you mean '--repetitions'?"),
    (["bench", "-m", "x.gguf", "--wramup", "0"], "--wramup: did you mean '--warmup'?"),
])
def test_a_typo_gets_one_suggestion_and_exit_2(capsys, argv, hint):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert hint in err and "Traceback" not in err


def test_a_word_far_from_every_command_lists_them(capsys):
    with pytest.raises(SystemExit):
        main(["zzzzzz"])
    err = capsys.readouterr().err
    assert "choose one of: " in err and "run" in err
