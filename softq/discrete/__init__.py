"""Discrete soft Q-learning and entropy-regularised policy gradients on gymnax (§6)."""
