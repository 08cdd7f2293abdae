"""The `loyalty` command: the local stack, and (added by other modules) demo, import, export,
reclassify and report. Each command lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Loyalty backend tools: local stack, demo, import, export, reclassify, report.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Loyalty backend tools."""


@app.command()
def local(
    port: int = typer.Option(None, help="Gateway port (default: $LOYALTY_LOCAL_PORT or 3000)"),
    workers: int = typer.Option(4, help="Handler worker processes (Lambda containers)"),
    programme: str = typer.Option(None, help="Programme file (default: programmes/default.json)"),
) -> None:
    """Run the local stack in the foreground: moto as AWS, the real handlers behind a gateway."""
    from loyalty_tools.local import run_forever

    run_forever(port=port, workers=workers, programme=programme)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
