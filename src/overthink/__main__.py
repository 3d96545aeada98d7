"""`python -m overthink` and the `overthink` command. The command line's modules take a moment to import: a
Ctrl-C meanwhile is one line and exit 130, not a KeyboardInterrupt traceback."""

import sys


def main() -> None:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was run", file=sys.stderr)
        raise SystemExit(130) from None
    cli_main()


if __name__ == "__main__":
    main()
