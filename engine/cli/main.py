"""Entry point placeholder; replaced by the real CLI."""


def main() -> int:
    print("sadeem")
    return 0
