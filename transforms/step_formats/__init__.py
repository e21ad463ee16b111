"""Step formats: how a solution is cut into steps (text: blank-line steps; code: rStar/AlphaMath code-augmented steps)."""
