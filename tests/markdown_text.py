"""Reading the generated Markdown as a reader sees it: the report escapes every printed string."""

import re


def unescape(text: str) -> str:
    """Markdown text with backslash-escaped ASCII punctuation shown as itself."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
