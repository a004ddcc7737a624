"""Bad-input corpus: broken copies of every raw input, generated at test time (see make_corpus.py)."""
