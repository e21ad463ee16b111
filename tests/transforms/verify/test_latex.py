"""Brace-aware helpers."""

from __future__ import annotations

import re

from transforms.verify.latex import brace_pairs, group_end, replace_command_groups, split_top_level, strip_outer


def test_group_end_skips_escaped_braces():
    text = "\\boxed{\\{1\\}}"
    assert group_end(text, 6) == len(text) - 1
    assert group_end("{unclosed", 0) is None


def test_brace_pairs_is_linear_and_matches_group_end():
    text = "a{b{c}d}{e}\\{f"
    pairs = brace_pairs(text)
    assert pairs == {1: 7, 3: 5, 8: 10}
    assert all(group_end(text, i) == j for i, j in pairs.items())
    assert brace_pairs("\\boxed{" * 5000) == {}


def test_replace_command_groups():
    assert replace_command_groups("5\\text{ cm}", r"\\text", pad="") == "5 cm"
    assert replace_command_groups("a\\text{x}b", r"\\text", keep_content=False) == "ab"
    assert replace_command_groups("\\text{open", r"\\text") == "\\text{open"


def test_split_top_level_respects_brackets_and_set_braces():
    sep = re.compile(r"\s*,\s*")
    assert split_top_level("(1, 2), [3, 4), \\{5, 6\\}, f(x, y)", sep) == ["(1, 2)", "[3, 4)", "\\{5, 6\\}", "f(x, y)"]
    assert split_top_level("x \\in A", re.compile(r"\\in(?![a-zA-Z])")) == ["x ", " A"]


def test_strip_outer():
    assert strip_outer("(1,2)", "(", ")") == "1,2"
    assert strip_outer("(1)(2)", "(", ")") is None
    assert strip_outer("\\{1\\}", "\\{", "\\}") == "1"
