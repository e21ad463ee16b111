from transforms.protocols import Sample
from transforms.step_formats.text import split_sample, split_steps


def test_split_steps_on_blank_lines_and_drops_empty_chunks():
    text = "First we add.\n2+3=5\n\n  \n\nThen double it.\n \nSo the answer is \\boxed{10}.\n\n"
    assert split_steps(text) == ["First we add.\n2+3=5", "Then double it.", "So the answer is \\boxed{10}."]
    assert split_steps("") == []
    assert split_steps("one step only") == ["one step only"]


def test_tokens_and_logprobs_are_attributed_to_the_step_they_start_in():
    tokens = ("A", " b", "\n\n", "C", "\n", "\n", "D", "<eos>")
    sample = Sample(text="A b\n\nC\n\nD", num_tokens=8, finish_reason="eos", cumulative_logprob=-3.6,
                    token_texts=tokens, token_logprobs=(-0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8))
    pieces = split_sample(sample)
    assert [p.text for p in pieces] == ["A b", "C", "D"]
    # The separator tokens stay with the step before them; the EOS token goes to the last step.
    assert [p.num_tokens for p in pieces] == [3, 3, 2]
    assert [round(p.logprob, 6) for p in pieces] == [-0.6, -1.5, -1.5]
    assert sum(p.num_tokens for p in pieces) == sample.num_tokens


def test_without_token_detail_only_single_steps_get_counts():
    one = split_sample(Sample(text="just one", num_tokens=2, finish_reason="length", cumulative_logprob=-1.0))
    assert [(p.text, p.num_tokens, p.logprob) for p in one] == [("just one", 2, -1.0)]
    two = split_sample(Sample(text="a\n\nb", num_tokens=3, finish_reason="eos"))
    assert [(p.text, p.num_tokens) for p in two] == [("a", None), ("b", None)]
