"""Handoffs: a conversation taken over by a human agent, with its package, the agent's replies and a rating."""
