"""The content and its loader: Markdown articles with front matter, topics.yaml, experts.yaml."""

from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent
