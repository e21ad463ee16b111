"""Tables derived from stored trees by ``pipelines.label`` (steps, pairs, sft) and the TRL files of
``pipelines.export``. Relabelling reads node shards only, so none of these needs new generation.

Every derived row carries ``label_run_id``: the label manifest (``<output>/label/manifest.json``)
of that id names the label functions, their options and the verifier versions that produced it.
"""

import pyarrow as pa

from schemas._fields import documented, versioned

PAIR_KINDS = ("ppm", "sibling", "solution")
PRM_LABELS = ("soft", "hard", "rest", "q")


def _provenance() -> list[pa.Field]:
    return [
        documented("label_run_id", pa.string(), "Id of the label run (see <output>/label/manifest.json for its options).", nullable=False),
        documented("run_id", pa.string(), "Id of the generate run whose stored tree was labelled.", nullable=False),
        documented("problem_id", pa.string(), "Problem the tree searched.", nullable=False),
    ]


STEPS_V1 = versioned("steps", 1, [
    *_provenance(),
    documented("node_id", pa.string(), "The step's node_id in nodes/v1 (stable across runs).", nullable=False),
    documented("parent_id", pa.string(), "node_id of the previous step, or of the root for a first step.", nullable=False),
    documented("path", pa.string(), "Child indices from the root, dot-separated, as in nodes/v1.", nullable=False),
    documented("depth", pa.int32(), "Step number along its path (first step = 1).", nullable=False),
    documented("step_text", pa.string(), "The step as generated.", nullable=False),
    documented("step_kind", pa.string(), "text, code or answer (see nodes/v1).", nullable=False),
    documented("is_terminal", pa.bool_(), "True if the step ends a solution.", nullable=False),
    documented("verdict", pa.bool_(), "Terminal only: the verifier's verdict (null when undecidable or not terminal)."),
    documented("verdict_method", pa.string(), "Rule that decided the verdict (timeout, no_answer, numeric, ...)."),
    documented("exec_status", pa.string(), "Sandbox status of the path's code: ok, error, timeout, killed (null if no code)."),
    documented("num_tokens", pa.int32(), "Generated tokens in this step (null if unknown)."),
    documented("completions", pa.int32(), "Counted terminal steps at or below this step (unfinished and undecided ones count as wrong or are skipped, failed code steps are skipped or wrong, per option).", nullable=False),
    documented("correct_completions", pa.int32(), "How many of those completions are correct.", nullable=False),
    documented("q_search", pa.float64(), "Q(s) the search stored (W/N; see nodes/v1 for what each search stores there); null for searches without visit statistics."),
    documented("q_terminal", pa.float64(), "Label-time Q from terminal rewards: mean of r in {+1,-1} over the stored completions below, each counted once (rStar-Math Eq. 2 on the stored tree; not the search's Q)."),
    documented("q", pa.float64(), "Q used by the pair and SFT rules, in [-1, 1]: q_search where it estimates the terminal reward (mcts-rstar, mcts-alphamath: AlphaMath's value target), else q_terminal; null for failed code steps and for steps with neither."),
    documented("shepherd_hard", pa.float64(), "Math-Shepherd hard estimate: 1.0 if any completion below is correct, else 0.0 (Eq. 3)."),
    documented("shepherd_soft", pa.float64(), "Math-Shepherd soft estimate: fraction of completions below that are correct (Eq. 4)."),
    documented("rest_distance", pa.int32(), "ReST-MCTS* reasoning distance m_k: fewest steps to a correct terminal; for an off-route step, that of its nearest on-route ancestor (paper Fig. 2); null in a tree without a correct answer."),
    documented("rest_step_reward", pa.int32(), "ReST-MCTS* r_{s_k}: 0 if a correct answer is reachable below the step, else 1."),
    documented("rest_weighted_reward", pa.float64(), "ReST-MCTS* w_{s_k} = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 r_{s_k}) (Eq. 1)."),
    documented("rest_value", pa.float64(), "ReST-MCTS* quality value v_k = max(v_{k-1} + w_{s_k}, 0), v_0 = 0 (Eq. 2)."),
    documented("label", pa.float64(), "Float PRM label in [0, 1] chosen by --prm-label (see label_source); null when no completion is below."),
    documented("label_source", pa.string(), "Which value 'label' holds: soft, hard, rest or q (= (q + 1) / 2).", nullable=False),
    documented("verifier", pa.string(), "Verifier name/version that produced the tree's verdicts (nodes.verifier)."),
])

PAIRS_V1 = versioned("pairs", 1, [
    *_provenance(),
    documented("pair_id", pa.string(), "Hash of (problem_id, kind, chosen node, rejected node); stable across runs.", nullable=False),
    documented("kind", pa.string(), "ppm (rStar-Math step pairs), sibling (step-level DPO) or solution (whole trajectories: rStar-Math final-step pairs, or ranked full-solution DPO pairs).", nullable=False),
    documented("branch_node_id", pa.string(), "node_id of the node both sides continue (the root for solution pairs).", nullable=False),
    documented("depth", pa.int32(), "Depth of the chosen/rejected step (branch depth + 1); for solution pairs 1.", nullable=False),
    documented("question", pa.string(), "The problem statement.", nullable=False),
    documented("prefix", pa.list_(pa.string()), "Steps shared by both sides, root first (empty for first steps and solutions).", nullable=False),
    documented("chosen", pa.string(), "Preferred continuation: one step (ppm, sibling) or a whole solution (solution).", nullable=False),
    documented("rejected", pa.string(), "Dispreferred continuation, same shape as chosen.", nullable=False),
    documented("chosen_node_id", pa.string(), "node_id of the chosen step (of the leaf for solution pairs).", nullable=False),
    documented("rejected_node_id", pa.string(), "node_id of the rejected step (of the leaf for solution pairs).", nullable=False),
    documented("chosen_q", pa.float64(), "Q of the chosen side (step Q, or mean step Q of the solution).", nullable=False),
    documented("rejected_q", pa.float64(), "Q of the rejected side.", nullable=False),
    documented("margin", pa.float64(), "chosen_q - rejected_q.", nullable=False),
    documented("edit_distance", pa.int32(), "Character (Levenshtein) edit distance of chosen vs rejected, capped at 64 (or at the minimum option if larger).", nullable=False),
    documented("pos_count", pa.int32(), "ppm, and solution in rstar mode: positives selected at the branch node (the rStar loss weights each pair 1/(pos_count*neg_count)); null otherwise."),
    documented("neg_count", pa.int32(), "ppm, and solution in rstar mode: negatives selected at the branch node; null otherwise."),
    documented("verifier", pa.string(), "Verifier name/version that produced the tree's verdicts."),
])

SFT_V1 = versioned("sft", 1, [
    *_provenance(),
    documented("leaf_node_id", pa.string(), "node_id of the trace's final step.", nullable=False),
    documented("rank", pa.int32(), "1 = best correct trace of the problem by mean Q, then min Q.", nullable=False),
    documented("question", pa.string(), "The problem statement.", nullable=False),
    documented("gold_answer", pa.string(), "The reference answer.", nullable=False),
    documented("steps", pa.list_(pa.string()), "The trace's steps, first to last.", nullable=False),
    documented("solution", pa.string(), "The steps joined by the step separator (a blank line).", nullable=False),
    documented("extracted_answer", pa.string(), "Answer the verifier extracted from the final step."),
    documented("mean_q", pa.float64(), "Mean Q over the trace's steps (rule Q: stored, else from terminal rewards).", nullable=False),
    documented("min_q", pa.float64(), "Smallest step Q along the trace.", nullable=False),
    documented("num_steps", pa.int32(), "Steps in the trace.", nullable=False),
    documented("num_tokens", pa.int64(), "Generated tokens over the trace's steps (null if any step lacks a count)."),
    documented("verifier", pa.string(), "Verifier name/version that marked the trace correct."),
])

TRL_STEPWISE_V1 = versioned("trl_stepwise", 1, [
    documented("prompt", pa.string(), "The problem statement.", nullable=False),
    documented("completions", pa.list_(pa.string()), "The steps of one stored trace (root to terminal).", nullable=False),
    documented("labels", pa.list_(pa.float64()), "One float label per step (steps.label). TRL's PRMTrainer applies int() to each: "
               "0.67 becomes 0, so binarise first (export --prm-threshold) to train with it.", nullable=False),
])

TRL_PREFERENCE_V1 = versioned("trl_preference", 1, [
    documented("prompt", pa.string(), "Question, then the shared prefix steps, each followed by a blank line.", nullable=False),
    documented("chosen", pa.string(), "Preferred continuation.", nullable=False),
    documented("rejected", pa.string(), "Dispreferred continuation.", nullable=False),
    documented("margin", pa.float64(), "Q margin of the pair (chosen_q - rejected_q).", nullable=False),
])

_MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])

TRL_SFT_V1 = versioned("trl_sft", 1, [
    documented("messages", pa.list_(_MESSAGE), "Conversation: the question as the user turn, the correct trace as the assistant turn.", nullable=False),
])
