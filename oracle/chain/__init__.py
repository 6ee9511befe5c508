"""The oracle's edge towards the chain: reading contract state, submitting transactions."""
