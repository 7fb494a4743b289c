"""HTML to readable text, the one converter: knowledge pages, help-desk bodies given only as HTML, HTML emails.

Headings become ``#`` lines, list items ``- `` lines, table rows ``| a | b |``, ``pre`` a fenced block; scripts,
styles, navigation and footers are dropped and runs of white space folded, so one chunker (and one reader) serves
them all.

Words the HTML hides from its reader (``apps/core/html_hidden.py``: comments, ``display:none``, white on white, a
zero font, text off screen) are, with ``separate_hidden``, left out of the text and returned apart (``hidden``): an
email's reader never saw them, so they are not the sender's visible words, but a check may read them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

from apps.core.html_hidden import PAGE, Look, look_of

# Elements with no end tag: they never hold text, so they never change the look of what follows.
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Elements a new one of the same kind closes (``<p>a<p>b``), as HTML's parsing rules say.
SELF_CLOSING_SIBLINGS = {"p": {"p"}, "li": {"li"}, "tr": {"tr"}, "td": {"td", "th"}, "th": {"td", "th"}}
BREAKS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)
MAX_HIDDEN_PARTS = 20
MAX_HIDDEN_CHARS = 2000
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class HiddenPart:
    how: str  # "an HTML comment", "display:none", "text the colour of its background", ...
    text: str


@dataclass(frozen=True)
class HtmlText:
    title: str  # the page's <title>, else its first <h1>; "" when it has neither
    text: str  # Markdown-like text, ending in one newline
    # With ``separate_hidden``: what the HTML hides that its visible text does not say (a preheader repeating the
    # first line, or Outlook's conditional comments, hide nothing), at most MAX_HIDDEN_PARTS parts.
    hidden: tuple[HiddenPart, ...] = ()


def read_html(html: str, *, separate_hidden: bool = False) -> HtmlText:
    parser = _Reader(separate_hidden=separate_hidden)
    parser.feed(html)
    parser.close()
    text = parser.text()
    hidden: tuple[HiddenPart, ...] = ()
    if separate_hidden:
        # A hidden copy of words the reader sees in that order anyway hides nothing; the same words rearranged
        # (to slip an order past this check) do not count as seen.
        seen = _words(text)
        hidden = tuple(part for part in parser.hidden_parts() if _words(part.text) not in seen)[:MAX_HIDDEN_PARTS]
    return HtmlText(re.sub(r"\s+", " ", parser.title).strip() or parser.first_h1, text, hidden)


def _words(text: str) -> str:
    return " " + " ".join(word.lower() for word in _WORD.findall(text)) + " "


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or document, without a trailing newline."""
    return read_html(html or "").text.strip()


class _Reader(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "head"}
    BLOCKS = {"p", "div", "section", "article", "main", "header", "blockquote", "dd", "dt", "figure", "form"}

    def __init__(self, *, separate_hidden: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.separate_hidden = separate_hidden
        self.open: list[tuple[str, Look]] = []  # the elements around the current text, with their looks
        self.open_count: Counter[str] = Counter()  # how many of each tag ``open`` holds
        self.hidden: list[tuple[str, list[str]]] = []  # (how, its texts) in document order
        self.out: list[str] = []
        self.line: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.heading_level = 0
        self.cells: list[str] | None = None
        self.title = ""
        self.in_title = False
        self.first_h1 = ""

    def _break(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.line)).strip()
        self.line = []
        if text:
            self.out.append(text)

    def _look(self) -> Look:
        return self.open[-1][1] if self.open else PAGE

    def _separate(self, tag: str) -> None:
        """A block boundary inside hidden text separates its words, as it does in the visible text."""
        if tag in BREAKS and self.hidden and self.hidden[-1][1]:
            self.hidden[-1][1].append(" ")

    def _enter(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._separate(tag)
        if tag in VOID:
            return
        closes = SELF_CLOSING_SIBLINGS.get(tag)
        if closes and self.open and self.open[-1][0] in closes:
            self._pop()
        named = {name.lower(): value or "" for name, value in attrs}
        self.open.append((tag, look_of(tag, named, self._look())))
        self.open_count[tag] += 1

    def _pop(self) -> None:
        self.open_count[self.open.pop()[0]] -= 1

    def _leave(self, tag: str) -> None:
        self._separate(tag)
        # Counted, so a stray end tag is ignored at once: searching the stack for each of thousands of them under
        # thousands of unclosed elements would take quadratic time on a hostile mail.
        if self.open_count[tag] <= 0:
            return
        while self.open and self.open[-1][0] != tag:
            self._pop()  # elements left open inside it end with it
        self._pop()

    def _hide(self, how: str, text: str) -> None:
        if self.hidden and self.hidden[-1][0] == how and self.hidden[-1][1]:
            self.hidden[-1][1].append(text)
        else:
            self.hidden.append((how, [text]))

    def hidden_parts(self) -> list[HiddenPart]:
        parts = [
            HiddenPart(how, re.sub(r"\s+", " ", "".join(texts)).strip()[:MAX_HIDDEN_CHARS])
            for how, texts in self.hidden
        ]
        return [part for part in parts if part.text]

    def handle_comment(self, data: str) -> None:
        # Outlook's conditional comments (<!--[if mso]>…<![endif]-->) hold markup for Outlook, not hidden words.
        if self.separate_hidden and not data.lstrip().startswith("[if") and not self.skip_depth:
            self.hidden.append(("an HTML comment", [data]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.separate_hidden:  # the looks are worked out only when someone asks for the hidden parts
            self._enter(tag, attrs)
        if tag == "title":
            self.in_title = True
        if tag in self.SKIP:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._break()
            self.out.append("")
            self.heading_level = int(tag[1])
        elif tag == "pre":
            self._break()
            self.out.extend(["", "```"])
            self.pre_depth += 1
        elif tag == "li":
            self._break()
            self.line.append("- ")
        elif tag == "tr":
            self._break()
            self.cells = []
        elif tag in {"td", "th"} and self.cells is not None:
            self.line = []
        elif tag == "br":
            self._break()
        elif tag in self.BLOCKS or tag in {"ul", "ol", "table"}:
            self._break()
            self.out.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.separate_hidden:
            self._leave(tag)
        if tag == "title":
            self.in_title = False
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"} and self.heading_level:
            text = re.sub(r"\s+", " ", "".join(self.line)).strip()
            self.line = []
            if text:
                self.out.extend(["#" * self.heading_level + " " + text, ""])
                if self.heading_level == 1 and not self.first_h1:
                    self.first_h1 = text
            self.heading_level = 0
        elif tag == "pre" and self.pre_depth:
            self.out.extend("".join(self.line).strip("\n").split("\n"))
            self.line = []
            self.out.extend(["```", ""])
            self.pre_depth -= 1
        elif tag in {"td", "th"} and self.cells is not None:
            self.cells.append(re.sub(r"\s+", " ", "".join(self.line)).strip().replace("|", "\\|"))
            self.line = []
        elif tag == "tr" and self.cells is not None:
            if self.cells:
                self.out.append("| " + " | ".join(self.cells) + " |")
            self.cells = None
        elif tag in self.BLOCKS or tag in {"li", "ul", "ol", "table"}:
            self._break()
            if tag in {"ul", "ol", "table"}:
                self.out.append("")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skip_depth:
            return
        how = self._look().hides_text() if self.separate_hidden else ""
        if how:
            self._hide(how, data)
            return
        if self.separate_hidden and data.strip() and self.hidden and self.hidden[-1][1]:
            self.hidden.append(("", []))  # visible words between two hidden runs: they are two parts
        self.line.append(data)

    def text(self) -> str:
        self._break()
        collapsed: list[str] = []
        for line in self.out:
            if line == "" and (not collapsed or collapsed[-1] == ""):
                continue
            collapsed.append(line)
        return "\n".join(collapsed).strip() + "\n"
