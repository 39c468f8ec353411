"""One construct per concern; ``infra/stack.py`` composes them in the order of the diagram."""
