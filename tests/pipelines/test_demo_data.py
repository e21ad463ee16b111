"""The bundled demo sample is valid GSM8K-train data under the gsm8k preset."""

import json

from pipelines.generate import DEMO_INPUT, resolve_args
from transforms.io.ingest import PRESETS, RawRecord, problem_from_record


def test_demo_sample_is_24_valid_distinct_gsm8k_train_problems():
    lines = DEMO_INPUT.read_text().splitlines()
    problems = [problem_from_record(RawRecord("demo", ("demo", i), line), PRESETS["gsm8k"]) for i, line in enumerate(lines)]
    assert len(problems) == 24 == len({p["problem_id"] for p in problems})
    assert all(p["problem_id"].startswith("gsm8k-train-") and p["gold_answer"].isdigit() for p in problems)
    assert all(set(json.loads(line)) == {"id", "question", "answer"} for line in lines)


def test_demo_uses_the_settings_the_sample_was_chosen_with():
    args, _, settings, _ = resolve_args(["--demo", "--no-progress"])
    assert args.output == "out/demo" and settings.config().n == 4 and settings.config().max_tokens == 256
    _, _, settings, _ = resolve_args(["--demo", "--no-progress", "--search-param", "n=2"])
    assert settings.config().n == 2
