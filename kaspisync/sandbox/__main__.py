"""`python -m kaspisync.sandbox alstyle|kaspi|telegram [options]`: serve an API emulator in the foreground.

`make run` starts these when ALSTYLE_TOKEN / KASPI_TOKEN / TELEGRAM_BOT_TOKEN are not set. `--help` after the name
lists each emulator's options.
"""

import importlib
import sys

SANDBOXES = {
    "alstyle": ("kaspisync.sandbox.alstyle", "Al-Style B2B catalog API"),
    "kaspi": ("kaspisync.sandbox.kaspi", "Kaspi Shop API (orders) and content API (product cards)"),
    "telegram": ("kaspisync.sandbox.telegram", "Telegram Bot API (alerts)"),
}


def usage() -> str:
    lines = ["usage: python -m kaspisync.sandbox {{{}}} [options]".format(",".join(SANDBOXES)), ""]
    lines += [f"  {name:<8} {title}" for name, (_, title) in SANDBOXES.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in SANDBOXES:
        print(usage(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module_name = SANDBOXES[argv[0]][0]
    try:  # lazily: starting one emulator never imports the other
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"kaspisync.sandbox: the {argv[0]!r} emulator ({module_name}) is not available", file=sys.stderr)
        return 1
    module.main(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
