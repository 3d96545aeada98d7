"""YAML parsing for the data tables and user files: PyYAML's libyaml loader where it is built in (10-20x faster
than the pure-Python one on the capability and price tables, which every run loads; the same safe subset and the
same results), else the pure-Python safe loader.

Two things the safe loader accepts are refused here, each as a yaml.YAMLError with the line:
  - a key given twice in one mapping (`limit: 2` ... `limit: 3`): YAML forbids it, PyYAML keeps the last silently,
    so a config would run with a value its author did not see. Merge keys (`<<: *base`) may still be overridden.
  - aliases that expand to a huge tree (a "billion laughs" bomb: 751 bytes that expand to 10^9 nodes) or refer to
    a node that contains them: every later walk (validation, the secret scan, storing the config) would hang or
    recurse forever. Aliases that share a block a few times (`model_options` for two specs) stay fine.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BASE: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_ALIAS_GROWTH = 100_000  # nodes that aliases may add beyond the document's own
_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[^\s,\[\]{}]")  # where an alias may start ('gpt-*' or '# * x' are none)


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    aliases = True  # whether the text may hold an alias (parse_yaml skips the count when no `*name` is written)

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and self.aliases:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = (key_node.tag, key_node.value)  # the resolved type and the text: no object built twice
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key_node.value[:80]!r} is given twice in one mapping (first on line "
                                    f"{seen[key] + 1}); keep one", key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Any) -> None:
    """Count the nodes the document expands to, each distinct node once (iteratively: deep nesting is no
    recursion); refuse growth beyond MAX_ALIAS_GROWTH and an alias inside the node it names."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise yaml.composer.ComposerError(None, None, "an alias refers to a node that contains it (a recursive "
                                                          "structure); write the values out", node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    if sizes[id(root)] - len(sizes) > MAX_ALIAS_GROWTH:
        raise yaml.composer.ComposerError(
            None, None, f"aliases (*name) expand this document to {sizes[id(root)]:,} values, more than "
                        f"{MAX_ALIAS_GROWTH:,} beyond the {len(sizes):,} written (an alias bomb?); write the values "
                        f"out", root.start_mark)


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load` semantics (raises yaml.YAMLError with the problem's line and column), refusing duplicate
    keys and alias bombs."""
    loader = _Loader(text)
    loader.aliases = _ALIAS.search(text) is not None
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
