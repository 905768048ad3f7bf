"""Reading YAML input strictly: bounded size, depth and expanded node count, no duplicate keys, integers
that fit in 64 bits, and every problem reported with its line.

PyYAML's own loader accepts a second `cluster:` silently (the last one wins), recurses once per nesting
level (RecursionError at a few hundred), expands aliases without bound when a value is walked, and lets
ValueError escape for values such as `2023-13-45` or integers past Python's digit limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from gigawatt.safety import excerpt, read_regular_file

MAX_BYTES = 1 << 20  # a scenario is a few kilobytes
MAX_DEPTH = 32
MAX_NODES = 100_000  # after expanding aliases: what a walk of the loaded value visits
INT_LIMIT = 2**63  # integers must fit in int64, as NumPy keeps them

MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlInputError(ValueError):
    """YAML that cannot be read; `line` is 1-based, or None where the problem has no place in the text."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line

    def located(self, path: str | Path) -> str:
        """The message as `file:line: problem` (or `file: problem`), as every input error reads."""
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


class _StrictLoader(yaml.SafeLoader):
    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # Values PyYAML cannot build (a date 2023-13-45, an integer of 5,000 digits) raise ValueError.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            problem = f"cannot read {excerpt(node.value)} ({excerpt(str(exc), 80)})"
            raise ConstructorError(None, None, problem, node.start_mark) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error names it
                if duplicate:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {excerpt(key)}: each key may appear once in a mapping",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: Any) -> int:
        # Length first: int() of thousands of digits is slow, and Python refuses it past 4,300.
        short = len(str(node.value)) <= 80
        if not short or not -INT_LIMIT <= (value := super().construct_yaml_int(node)) < INT_LIMIT:
            raise ConstructorError(
                None,
                None,
                f"the integer {excerpt(node.value)} is out of range (at most 2**63 - 1 in size)",
                node.start_mark,
            )
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _count_nodes(root: yaml.Node) -> None:
    """Refuse documents whose value, aliases expanded, has more than MAX_NODES nodes (a "billion laughs")."""
    stack, count = [root], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise YamlInputError(
                f"more than {MAX_NODES:,} values once aliases (*name) are expanded", node.start_mark.line + 1
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


@dataclass(frozen=True)
class YamlDocument:
    root: yaml.Node | None  # for line numbers; None for an empty document
    data: Any


def parse(text: str) -> YamlDocument:
    loader = None
    try:
        loader = _StrictLoader(text)  # checks every character at once
        root = loader.get_single_node()
        if root is not None:
            _count_nodes(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        # A value PyYAML could not build is valid YAML with a bad value; the rest is broken syntax.
        message = problem if isinstance(exc, ConstructorError) else f"not valid YAML ({problem})"
        raise YamlInputError(message, mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlInputError(f"not valid YAML (character {exc.character!r} is not allowed)", line) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"not valid YAML ({excerpt(str(exc), 120)})") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(root, data)


def read(path: Path, what: str = "YAML file", max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Read and parse a YAML file; raises InputFileError (path problems) or YamlInputError (content)."""
    raw = read_regular_file(path, max_bytes, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlInputError(f"not UTF-8 text (byte {exc.start + 1:,} cannot be decoded)", line) from None
    return parse(text)
