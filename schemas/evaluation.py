"""Evaluation results written by ``pipelines.evaluate``: one row per (problem, method), and one row
per ProcessBench sample for ``pipelines.evaluate prm``."""

import pyarrow as pa

from schemas._fields import documented, versioned

EVAL_RESULTS_V1 = versioned("eval_results", 1, [
    documented("eval_run_id", pa.string(), "Id of the evaluate run (see <output>/manifest.json for its options).", nullable=False),
    documented("problem_id", pa.string(), "The evaluated problem.", nullable=False),
    documented("method", pa.string(), "Method name as in the report: greedy, maj@8, prm-min@8, vote-orm@8, sbs-3x5, mcts@40, ...", nullable=False),
    documented("in_table", pa.bool_(), "True for a method the user asked for; False for an extra point of an accuracy-vs-N curve.", nullable=False),
    documented("selector", pa.string(), "How the answer was picked: first, majority, pass, best, vote, beam or best_q.", nullable=False),
    documented("scoring", pa.string(), "Solution score for best/vote: orm, prm-min, prm-last or prm-prod (null otherwise)."),
    documented("k", pa.int32(), "Solutions considered at most (the @K of the method; null for greedy, sbs, mcts)."),
    documented("search", pa.string(), "Search whose tree the answer was picked from (greedy, best-of-n, sbs, mcts-alphamath).", nullable=False),
    documented("search_config_hash", pa.string(), "Hash of that search's config (nodes/v1 search_config_hash).", nullable=False),
    documented("source_run_id", pa.string(), "run_id of the node rows the tree came from (this run's search, or the stored run re-selected).", nullable=False),
    documented("answer", pa.string(), "The selected final answer as extracted (null when the tree holds no answer)."),
    documented("gold_answer", pa.string(), "The reference answer.", nullable=False),
    documented("correct", pa.bool_(), "The verifier's verdict on the selected answer; no answer or an undecided verdict counts as false.", nullable=False),
    documented("considered", pa.int32(), "Answered solutions the selection looked at.", nullable=False),
    documented("support", pa.float64(), "Votes, summed weight or score behind the selected answer (null if none)."),
    documented("seconds", pa.float64(), "Wall seconds for this problem: its share of the batched search (apportioned by generated tokens "
               "for @K methods that share one N-sample search) plus its share of scoring. Null when re-selecting stored trees."),
    documented("generated_tokens", pa.int64(), "Tokens generated for this problem by this method (the first K samples' for @K methods)."),
    documented("model_id", pa.string(), "Policy model that searched."),
    documented("scorer_id", pa.string(), "Scorer model used by the selection or the search (null if none)."),
])

PROCESSBENCH_V1 = versioned("processbench", 1, [
    documented("eval_run_id", pa.string(), "Id of the evaluate prm run.", nullable=False),
    documented("subset", pa.string(), "Input file stem (ProcessBench ships one file per subset: gsm8k, math, ...).", nullable=False),
    documented("sample_id", pa.string(), "The sample's id.", nullable=False),
    documented("label", pa.int32(), "Index of the earliest wrong step, -1 if every step is right.", nullable=False),
    documented("predicted", pa.int32(), "First step scored below the threshold, -1 if none.", nullable=False),
    documented("match", pa.bool_(), "predicted == label.", nullable=False),
    documented("threshold", pa.float64(), "Threshold used (a step is wrong when its score < threshold).", nullable=False),
    documented("step_scores", pa.list_(pa.float64()), "The scorer's score for each step prefix.", nullable=False),
])
