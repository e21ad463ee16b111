import io

from transforms.progress import Progress


def test_progress_line_reports_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(total=10, every_s=0.0, stream=stream)
    progress.start -= 10  # pretend 10 s have passed
    progress.update(problems=5, nodes=50, tokens=1000)
    line = stream.getvalue().strip()
    assert line.startswith("[treemill search] 5/10 problems (50%), ETA 0:00:10, 50 nodes")
    assert "100 tok/s" in line
