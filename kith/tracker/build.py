"""Builds the shipped tracker files from `kith/tracker/src` (`make tracker`).

`loader.min.js` is `src/loader.js` minified. `liliput.min.js` is the other
sources, in the order of `LILIPUT_SOURCES`, inside one strict-mode function
so that none of their names leak into the page; they are plain function
declarations that share that scope, which is why no bundler is needed.
rjsmin (a development dependency) only strips comments and whitespace, so
the shipped code is the source code, and a test checks the shipped files are
exactly what this build makes of the current sources."""

from __future__ import annotations

import sys
from pathlib import Path

import rjsmin

TRACKER_DIR = Path(__file__).resolve().parent
SOURCE_DIR = TRACKER_DIR / "src"
LILIPUT_SOURCES = ("ids.js", "context.js", "ux.js", "transport.js", "tracker.js")
BANNER = "/* Kith browser tracker (Apache-2.0); sources: kith/tracker/src */\n"


def minify(source: str) -> str:
    return str(rjsmin.jsmin(source, keep_bang_comments=False)).strip()


def build_loader(source_dir: Path = SOURCE_DIR) -> str:
    return BANNER + minify((source_dir / "loader.js").read_text(encoding="utf-8")) + "\n"


def build_liliput(source_dir: Path = SOURCE_DIR) -> str:
    parts = [(source_dir / name).read_text(encoding="utf-8") for name in LILIPUT_SOURCES]
    wrapped = '(function () {\n"use strict";\n' + "\n".join(parts) + "\n})();\n"
    return BANNER + minify(wrapped) + "\n"


def built_files(source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    """The shipped file names and the text a build of `source_dir` gives them."""
    return {
        "loader.min.js": build_loader(source_dir),
        "liliput.min.js": build_liliput(source_dir),
    }


def main() -> None:
    for name, text in built_files().items():
        target = TRACKER_DIR / name
        target.write_text(text, encoding="utf-8")
        sys.stdout.write(f"{target.relative_to(TRACKER_DIR.parent.parent)}: {len(text)} bytes\n")


if __name__ == "__main__":
    main()
