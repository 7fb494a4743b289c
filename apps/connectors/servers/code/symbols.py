"""Where a symbol is defined, by regular expression, across the common languages (no parser, no index).

Each rule is written once in a small dialect ({N} for the escaped name, \\s for whitespace, \\b for a word
end) and rendered for git grep (POSIX extended) and for Python, which re-checks every hit and names the
language and kind of definition. Good enough to answer "where is handle_webhook defined?" in any repo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatch

NAME_PATTERN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,199}$")
JS = ("*.js", "*.jsx", "*.mjs", "*.cjs", "*.ts", "*.tsx")
JVM = ("*.java", "*.kt", "*.kts", "*.scala", "*.cs", "*.swift")
C = ("*.c", "*.h", "*.cc", "*.cpp", "*.hpp", "*.m")


@dataclass(frozen=True)
class Rule:
    language: str
    kind: str  # function | class | type
    globs: tuple[str, ...]
    pattern: str  # the dialect described above


MODS = r"((export|default|public|private|protected|internal|static|final|abstract|sealed|open|data|async|pub)\s+)*"
RULES = (
    Rule("python", "function", ("*.py", "*.pyi"), r"^\s*(async\s+)?def\s+{N}\b"),
    Rule("python", "class", ("*.py", "*.pyi"), r"^\s*class\s+{N}\b"),
    Rule("javascript/typescript", "function", JS, r"^\s*(export\s+)?(default\s+)?(async\s+)?function\*?\s*{N}\b"),
    Rule(
        "javascript/typescript",
        "function",
        JS,
        r"^\s*(export\s+)?(const|let|var)\s+{N}\s*=\s*(async\s+)?(function|\(|[A-Za-z_$][A-Za-z0-9_$]*\s*=>)",
    ),
    Rule(
        "javascript/typescript",
        "method",
        JS,
        r"^\s*((public|private|protected|static|async|get|set)\s+)*{N}\s*\([^)]*\)\s*(:[^{]*)?\{",
    ),
    Rule("javascript/typescript", "class", JS, r"^\s*" + MODS + r"(class|interface|type|enum)\s+{N}\b"),
    Rule("go", "function", ("*.go",), r"^func\s+(\([^)]*\)\s*)?{N}\b"),
    Rule("go", "type", ("*.go",), r"^type\s+{N}\b"),
    Rule("rust", "function", ("*.rs",), r"^\s*" + MODS + r"(pub\([^)]*\)\s+)?(const\s+)?(unsafe\s+)?fn\s+{N}\b"),
    Rule("rust", "type", ("*.rs",), r"^\s*" + MODS + r"(pub\([^)]*\)\s+)?(struct|enum|trait|type|union|mod)\s+{N}\b"),
    Rule("ruby", "function", ("*.rb",), r"^\s*def\s+(self\.)?{N}\b"),
    Rule("ruby", "class", ("*.rb",), r"^\s*(class|module)\s+{N}\b"),
    Rule("php", "function", ("*.php",), r"^\s*((public|private|protected|static|final|abstract)\s+)*function\s+{N}\b"),
    Rule("php", "class", ("*.php",), r"^\s*((final|abstract)\s+)?(class|interface|trait|enum)\s+{N}\b"),
    Rule("jvm/.net", "class", JVM, r"^\s*" + MODS + r"(class|interface|enum|record|object|struct)\s+{N}\b"),
    Rule("jvm/.net", "function", JVM, r"^\s*" + MODS + r"(fun|func|def)\s+{N}\b"),
    Rule("jvm/.net", "method", JVM, r"^\s*" + MODS + r"[A-Za-z_][A-Za-z0-9_<>,.?\[\] ]*\s+{N}\s*\([^;]*$"),
    Rule("c/c++", "function", C, r"^[A-Za-z_][A-Za-z0-9_ *&:<>,]*[ *&]{N}\s*\([^;]*$"),
    Rule("c/c++", "class", C, r"^\s*(class|struct|union|enum)\s+{N}\b"),
)
KEYWORDS = {"return", "new", "throw", "else", "await", "yield", "case", "if", "while", "for", "switch", "delete"}


def _render(pattern: str, name: str, *, posix: bool) -> str:
    escaped = re.escape(name) if not posix else name.replace("$", r"\$")
    if posix:
        body = pattern.replace(r"\s", "[[:space:]]").replace(r"\b", "([^A-Za-z0-9_$]|$)")
    else:
        body = pattern.replace(r"\b", r"(?![A-Za-z0-9_$])")
    return body.replace("{N}", escaped)


def grep_patterns(name: str) -> list[str]:
    return sorted({_render(rule.pattern, name, posix=True) for rule in RULES})


def all_globs() -> list[str]:
    return sorted({glob for rule in RULES for glob in rule.globs})


def classify(path: str, text: str, name: str) -> tuple[str, str] | None:
    """(language, kind) of a definition on this line of ``path``, or None when the hit is not a definition."""

    base = path.rsplit("/", 1)[-1]
    first_word = text.strip().split(" ", 1)[0]
    if first_word in KEYWORDS:
        return None
    for rule in RULES:
        if any(fnmatch(base, glob) for glob in rule.globs) and re.search(
            _render(rule.pattern, name, posix=False), text
        ):
            return rule.language, rule.kind
    return None
