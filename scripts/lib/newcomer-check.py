#!/usr/bin/env python3
"""What a newcomer trips on first, checked on every test run.

- Every link in the README and the docs resolves inside the repository (files and #anchors).
- Every `schemagate COMMAND --option` shown in them exists: the command is in `schemagate --help`
  and the option in `schemagate COMMAND --help`.
- `schemagate --version` prints the release the code declares.

Usage: newcomer-check.py PATH-TO-SCHEMAGATE-BINARY. Prints one line per problem, exits 1 if any.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
# Unit files and the example environment show commands too.
COMMAND_SOURCES = DOCUMENTS + sorted((ROOT / "systemd").glob("*.service")) + sorted((ROOT / "systemd").glob("*.env"))

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
INVOCATION = re.compile(r"(?:^|[\s/(=\"'`])schemagate((?:\s+[^\s|;&)`\"'<>]+)*)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`|\*", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> set:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found, seen = set(), {}
    for match in HEADING.finditer(text):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def check_links(problems: list) -> None:
    for document in DOCUMENTS:
        text = FENCE.sub("", document.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: outside the repository by intent
            file_part, _, anchor = target.partition("#")
            resolved = (document.parent / file_part).resolve() if file_part else document
            name = document.relative_to(ROOT)
            if not str(resolved).startswith(str(ROOT)):
                problems.append(f"{name}: link {target} points outside the repository")
            elif not resolved.exists():
                problems.append(f"{name}: link {target}: no such file in the repository")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{name}: link {target}: no heading with that anchor in {resolved.relative_to(ROOT)}")


def help_text(binary: str, *arguments: str) -> str:
    result = subprocess.run([binary, *arguments, "--help"], capture_output=True, text=True)
    return result.stdout + result.stderr


def snippets(text: str) -> list:
    """The code in a document: fenced blocks line by line, and inline code spans."""
    blocks = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    outside = FENCE.sub("", text)
    return blocks + INLINE.findall(outside)


def check_commands(binary: str, problems: list) -> None:
    top = help_text(binary)
    commands = set(re.findall(r"^\s{2,}([a-z][a-z-]+)\s", top.split("SUBCOMMANDS:")[-1], re.M))
    if not commands:
        problems.append("schemagate --help lists no subcommands")
        return
    helps, checked = {}, []
    for source in COMMAND_SOURCES:
        text = source.read_text(encoding="utf-8")
        pieces = text.splitlines() if source.suffix != ".md" else snippets(text)
        for piece in pieces:
            for match in INVOCATION.finditer(piece):
                words = match.group(1).split()
                if not words or not re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    continue
                command = words[0]
                if command not in commands:
                    # Prose like "schemagate is" is not an invocation; only flag what looks like one.
                    if any(word.startswith("--") for word in words[1:3]):
                        problems.append(f"{source.relative_to(ROOT)}: `schemagate {command}` is not a command")
                    continue
                if command not in helps:
                    helps[command] = help_text(binary, command)
                checked.append(command)
                for word in words[1:]:
                    option = re.match(r"^(--[a-z][a-z0-9-]*)", word)
                    if option and option.group(1) not in ("--help",) and not re.search(
                        rf"(^|[\s,]){re.escape(option.group(1))}([\s=,<]|$)", helps[command], re.M
                    ):
                        problems.append(f"{source.relative_to(ROOT)}: `schemagate {command} {option.group(1)}`: "
                                        f"no such option (see `schemagate {command} --help`)")
    if len(set(checked)) < len(commands) // 2:
        problems.append(f"only {len(set(checked))} commands found in the docs; is the invocation pattern still right?")


def check_version(binary: str, problems: list) -> None:
    declared = re.search(r'current\s*=\s*"([^"]+)"',
                         (ROOT / "Sources/SchemagateCore/SchemagateVersion.swift").read_text(encoding="utf-8"))
    printed = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    if not declared or printed != declared.group(1):
        problems.append(f"schemagate --version prints {printed!r}, the code declares {declared.group(1) if declared else '?'}")


def main() -> int:
    binary = sys.argv[1]
    problems: list = []
    check_links(problems)
    check_commands(binary, problems)
    check_version(binary, problems)
    for problem in problems:
        print(f"newcomer check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
