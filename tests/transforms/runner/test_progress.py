import io

from transforms.runner.progress import Progress


def test_progress_line_reports_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(total=10, every_s=0.0, stream=stream)
    progress.start -= 10  # pretend 10 s have passed
    progress.update(problems=5, nodes=50, tokens=1000)
    line = stream.getvalue().strip()
    assert line.startswith("[treemill search] 5/10 problems (50%), ETA 0:00:10, 50 nodes")
    assert "100 tok/s" in line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_one_line_rewritten_in_place():
    stream = _Terminal()
    progress = Progress(total=2, every_s=0.0, stream=stream)
    progress.update(problems=1, nodes=10, tokens=100)
    progress.update(problems=1, nodes=10, tokens=100)
    first, second = stream.getvalue().split("\r")
    assert first.startswith("[treemill search] 1/2 problems") and "\n" not in first
    assert second.startswith("[treemill search] 2/2 problems (100%)") and second.endswith("\n")


def test_into_a_pipe_progress_writes_rarely():
    stream = io.StringIO()
    progress = Progress(total=100, every_s=0.0, stream=stream)  # a pipe: at most one line per 30 s
    for _ in range(99):
        progress.update(problems=1, nodes=1, tokens=1)
    progress.update(problems=1, nodes=1, tokens=1)
    assert len(stream.getvalue().splitlines()) == 2  # the first update and the end
