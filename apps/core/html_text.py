"""HTML to readable text, the one converter: knowledge pages, help-desk bodies given only as HTML, HTML emails.

Headings become ``#`` lines, list items ``- `` lines, table rows ``| a | b |``, ``pre`` a fenced block; scripts,
styles, navigation and footers are dropped and runs of white space folded, so one chunker (and one reader) serves
them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class HtmlText:
    title: str  # the page's <title>, else its first <h1>; "" when it has neither
    text: str  # Markdown-like text, ending in one newline


def read_html(html: str) -> HtmlText:
    parser = _Reader()
    parser.feed(html)
    parser.close()
    return HtmlText(re.sub(r"\s+", " ", parser.title).strip() or parser.first_h1, parser.text())


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or document, without a trailing newline."""
    return read_html(html or "").text.strip()


class _Reader(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "head"}
    BLOCKS = {"p", "div", "section", "article", "main", "header", "blockquote", "dd", "dt", "figure", "form"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
        self.line.append(data)

    def text(self) -> str:
        self._break()
        collapsed: list[str] = []
        for line in self.out:
            if line == "" and (not collapsed or collapsed[-1] == ""):
                continue
            collapsed.append(line)
        return "\n".join(collapsed).strip() + "\n"
