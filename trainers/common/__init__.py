"""What the four trainers share: the config base, data loading and splitting, the HF Trainer set-up,
step-end token positions, the model card and the CLI."""
