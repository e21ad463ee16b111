"""Tree nodes: one row per node of a search tree (``nodes/v1``).

A tree is stored flat: ``parent_id`` links rebuild it (see ``queries/paths.sql``). Node ids are
derived from ``(problem_id, path)`` so the same node gets the same id in every run; they never
come from a global counter. The root (depth 0, kind ``root``) holds the question's prompt and no step.

Which search fills which statistics column (one scale per column):

    search          visits / value_sum / q_value (W/N)                 value_estimate
    mcts-rstar      N; W = sum of terminal rewards +-1 (plus the PPM   raw scorer (PPM) output
                    init q^0 in ppm mode); Q in [-1, 1] (paper Eq. 2)
    mcts-alphamath  N; W = sum of backed-up (1 - lambda) V_phi +       V_phi (value head) of the node
                    lambda r, r in {+1, -1}; Q in [-1, 1] = the
                    paper's value target Q-hat
    rest-mcts       N; W/N = the search's V(s) in [0, 1] (ReST-MCTS*   V_theta, or the quality value
                    value back-propagation), not a terminal reward     stand-in without a scorer
    sbs             0 / 0 / null (beam search keeps no Q)              the ranking score: V_phi with a
                                                                       scorer, else mean token log-prob
    best-of-n,      0 / 0 / null                                       null
    greedy

Only the searches in ``TERMINAL_REWARD_Q`` store a Q that estimates the terminal reward on the
+-1 scale; labels read the stored Q only for them (``transforms.labels.values.rule_q``).

Verdict methods that say why a terminal step is not an answer (``verdict`` is null):
``UNFINISHED_METHODS`` (cut at the depth or token limit, or empty: the papers' TOO_MANY_STEPS,
rewarded -1) and ``CODE_FAILURE_METHODS`` (the step's code did not run or the step did not parse:
rStar-Math keeps only steps whose code runs).
"""

import pyarrow as pa

from schemas._fields import documented, versioned

STEP_KINDS = ("root", "text", "code", "answer")
TERMINAL_REWARD_Q = frozenset({"mcts-rstar", "mcts-alphamath"})
UNFINISHED_METHODS = ("too_many_steps", "empty_step", "length")
CODE_FAILURE_METHODS = ("code_error", "malformed_step")

NODES_V1 = versioned("nodes", 1, [
    documented("run_id", pa.string(), "Id of the run that produced this node (see the run manifest).", nullable=False),
    documented("problem_id", pa.string(), "Problem this tree searches.", nullable=False),
    documented("node_id", pa.string(), "Hash of (problem_id, path); stable across runs.", nullable=False),
    documented("parent_id", pa.string(), "node_id of the parent; null for the root."),
    documented("path", pa.string(), "Child indices from the root, dot-separated ('' for the root, '0.2.1').", nullable=False),
    documented("depth", pa.int32(), "Number of steps from the root (root = 0).", nullable=False),
    documented("step_text", pa.string(), "The step as generated (empty for the root).", nullable=False),
    documented("step_kind", pa.string(), "root, text, code or answer (a step that states a final answer).", nullable=False),
    documented("code", pa.string(), "Python code of a code step (null for other kinds)."),
    documented("exec_status", pa.string(), "Sandbox status of this step's code (run after the path's earlier clean code): ok, error, "
              "timeout, killed; malformed for an unparsable step; null if no code. Anything but ok is a failed step."),
    documented("exec_output", pa.string(), "Sandbox stdout (or stderr on failure), truncated."),
    documented("is_terminal", pa.bool_(), "True if the step ends its branch: it states an answer (verified), or the branch "
              "ended without one (see verdict_method).", nullable=False),
    documented("finish_reason", pa.string(), "Why generation of this step stopped: stop, length, eos (null for the root)."),
    documented("extracted_answer", pa.string(), "Answer extracted from a terminal step (null if none)."),
    documented("extraction_method", pa.string(), "How it was extracted: boxed, answer_is, hashes, code_output, last_number."),
    documented("verdict", pa.bool_(), "Terminal only: the answer equals the gold (null when undecidable or not terminal)."),
    documented("verdict_method", pa.string(), "Rule that decided the verdict (string, numeric, symbolic, timeout, ...), or, with "
              "verdict null and no verifier call, why the branch ended without an answer: too_many_steps, length, "
              "empty_step, no_answer, code_error, malformed_step (transforms/search/endings.py)."),
    documented("verifier", pa.string(), "Verifier name and version that produced the verdict."),
    documented("visits", pa.int64(), "Visit count N(s) in the search (0 if the search keeps none; see the table above for each search).", nullable=False),
    documented("value_sum", pa.float64(), "Sum of backed-up values W(s): terminal rewards +-1 (mcts-rstar), mixed V-hat (mcts-alphamath), V * N (rest-mcts), 0 otherwise.", nullable=False),
    documented("q_value", pa.float64(), "Q(s) as the search left it (W/N; null if never evaluated): a terminal-reward estimate in [-1, 1] only for mcts-rstar and mcts-alphamath, ReST-MCTS* V in [0, 1] for rest-mcts."),
    documented("value_estimate", pa.float64(), "Scorer estimate or ranking score of the partial solution: PPM (mcts-rstar), V_phi (mcts-alphamath), V_theta (rest-mcts), the beam's ranking score (sbs: V_phi, else mean token log-prob); null if none."),
    documented("prior", pa.float64(), "Prior pi(a|s) used in selection (AlphaMath: exp of the mean token log-prob, not normalised)."),
    documented("prior_logprob", pa.float64(), "Policy log-probability of this step's tokens."),
    documented("num_tokens", pa.int32(), "Generated tokens in this step (null if the backend gave no token detail)."),
    documented("prompt_tokens", pa.int32(), "Prompt tokens of the call that generated this step."),
    documented("model_id", pa.string(), "Policy model that wrote the step.", nullable=False),
    documented("search", pa.string(), "Search algorithm name (best-of-n, greedy, mcts-alphamath, ...).", nullable=False),
    documented("search_config_hash", pa.string(), "Hash of the search config (algorithm + settings).", nullable=False),
    documented("created_at", pa.timestamp("us", tz="UTC"), "When the node was created.", nullable=False),
])
