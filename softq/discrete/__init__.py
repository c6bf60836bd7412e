"""Discrete soft Q-learning and entropy-regularised policy gradients on gymnax (spec §6)."""
