"""The `loyalty` command: the local stack, and (added by other modules) demo, import, export,
reclassify and report. Each command lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Loyalty backend tools: local stack, demo, import, export, reclassify, report.",
    no_args_is_help=True,
    add_completion=False,
)


def version() -> str:
    """The package version, read from the installed metadata: pyproject.toml is the one place it is set."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("loyalty-backend")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "unknown (not installed: run `make install`)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"loyalty {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
    ),
) -> None:
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


# -- demo, import, export, reclassify, simulate, report (implementations: demo.py, importer.py,
#    export.py, reclassify_local.py, whatif.py, report.py; where they point: target.py) ------------------

TARGET_HELP = "auto (a running `make local`, else AWS settings), local, aws (stack outputs), env"
export_app = typer.Typer(help="Export customer data as CSV.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _date(value: str, option: str):  # type: ignore[no-untyped-def]
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-03-01", param_hint=option) from None


def _delimiter(value: str) -> str:
    if len(value) != 1:
        raise typer.BadParameter(f"one character, such as ; or , (got {value!r})", param_hint="--delimiter")
    return value


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def demo(
    customers: int = typer.Option(400, help="Simulated customers (new joiners included)"),
    months: int = typer.Option(13, help="Simulated months, each closed by a monthly run"),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same traffic"),
    start_month: str = typer.Option("2025-01", help="First simulated month (YYYY-MM)"),
    out: str = typer.Option("demo-report", help="Folder for the PNG charts and index.html"),
    threads: int = typer.Option(12, help="Concurrent HTTP clients"),
    workers: int = typer.Option(3, help="Gateway worker processes (Lambda containers)"),
) -> None:
    """A synthetic retailer's year through the real API, monthly runs, tables and pictures."""
    from loyalty_tools.demo import run_demo

    result = run_demo(customers, months, seed, start_month, out, threads, workers)
    if not result.ok:
        raise typer.Exit(1)


@app.command("import")
def import_(
    file: str = typer.Argument(..., help="CSV file of transactions"),
    col_customer_id: str = typer.Option("customer_id", "--col-customer-id"),
    col_occurred_at: str = typer.Option("occurred_at", "--col-occurred-at"),
    col_amount: str = typer.Option("amount", "--col-amount"),
    col_transaction_id: str = typer.Option("transaction_id", "--col-transaction-id"),
    col_store_id: str = typer.Option("store_id", "--col-store-id"),
    col_channel: str = typer.Option("channel", "--col-channel"),
    col_category: str = typer.Option("category", "--col-category"),
    col_type: str = typer.Option("type", "--col-type", help="purchase/return column (optional)"),
    col_original: str = typer.Option(
        "original_transaction_id", "--col-original-transaction-id", help="a return's purchase id"
    ),
    date_format: str = typer.Option(None, "--date-format", help="strptime format (default: ISO 8601)"),
    delimiter: str = typer.Option(",", help="CSV delimiter (';' for a French spreadsheet)"),
    decimal_comma: bool = typer.Option(False, "--decimal-comma", help="amounts written 12,50 or 1 234,50"),
    rejects: str = typer.Option(None, help="Rejects CSV (default: FILE.rejects.csv)"),
    workers: int = typer.Option(8, help="Customers written in parallel"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """Backfill a retailer's history from CSV (same rules as the API, batched, idempotent)."""
    from loyalty_tools.importer import Columns, run_import
    from loyalty_tools.target import TargetError

    columns = Columns(
        customer_id=col_customer_id, occurred_at=col_occurred_at, amount=col_amount,
        transaction_id=col_transaction_id, store_id=col_store_id, channel=col_channel,
        category=col_category, type=col_type, original_transaction_id=col_original,
    )  # fmt: skip
    _delimiter(delimiter)
    try:
        result = run_import(
            file, columns, date_format, delimiter, decimal_comma, rejects, workers, target, stack_name
        )
    except (TargetError, OSError, ValueError) as exc:
        _fail(exc)
    if result.failed:
        raise typer.Exit(1)


@app.command()
def adjust(
    file: str = typer.Argument(..., help="CSV: customer_id, points, reason, note[, adjustment_id]"),
    rejects: str = typer.Option(None, help="Rejects CSV (default: FILE.rejects.csv)"),
    delimiter: str = typer.Option(",", help="CSV delimiter (';' for a French spreadsheet)"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """Bulk back-office points adjustments (same rules as POST /v1/customers/{id}/adjustments,
    idempotent on rerun). Exit 1 when a row was rejected."""
    from loyalty_tools.adjust import run_adjust
    from loyalty_tools.target import TargetError

    _delimiter(delimiter)
    try:
        result = run_adjust(file, rejects, delimiter, target, stack_name)
    except (TargetError, OSError, ValueError) as exc:
        _fail(exc)
    if result.rejected:
        raise typer.Exit(1)


@export_app.command("segments")
def export_segments(
    as_of: str = typer.Option(..., "--as-of", help="Run date YYYY-MM-DD: the window is the 12 months before"),
    out: str = typer.Option("segments.csv", "--out", "-o", help="CSV file, or - for stdout"),
    segments: int = typer.Option(4, help="Parallel scan segments"),
    delimiter: str = typer.Option(",", help="CSV delimiter (';' for a French spreadsheet)"),
    decimal_comma: bool = typer.Option(False, "--decimal-comma", help="money written 62,40"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """One row per customer: RFM facts, scores, segment, tier, favourite category, A/B bucket, balance."""
    from loyalty_tools.export import CsvFormat, run_export
    from loyalty_tools.target import TargetError

    fmt = CsvFormat(_delimiter(delimiter), decimal_comma)
    try:
        run_export(_date(as_of, "--as-of"), out, target, stack_name, segments, fmt)
    except TargetError as exc:
        _fail(exc)


@app.command()
def reclassify(
    as_of: str = typer.Option(..., "--as-of", help="Run date YYYY-MM-DD: classifies the month before"),
    segments: int = typer.Option(None, help="Parallel scan segments (default: from the table size)"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """Run the monthly reclassification now: locally the state machine's steps through the same handler
    code (a pass's segments side by side); with --target aws the deployed state machine itself."""
    import json

    from loyalty_tools.progress import make_console
    from loyalty_tools.target import TargetError, resolve_target

    day = _date(as_of, "--as-of")
    try:
        resolved = resolve_target(target, stack_name)
    except TargetError as exc:
        _fail(exc)
    resolved.activate()
    console = make_console(stderr=True)
    if resolved.kind == "aws":
        summary = _reclassify_in_aws(resolved, day, segments, console)
    else:
        summary = _reclassify_here(resolved, day, segments, console)
    keep = ("period", "customers", "classified", "changed", "published", "events", "points_expired")
    typer.echo(json.dumps({k: summary.get(k) for k in keep}, indent=2, sort_keys=True))


def _reclassify_here(resolved, day, segments, console):  # type: ignore[no-untyped-def]
    from loyalty_tools.local import state_dir
    from loyalty_tools.progress import progress_bar
    from loyalty_tools.reclassify_local import handler_output, run_reclassification

    log = state_dir() / "logs" / "reclassify.log"
    with progress_bar(console) as progress, handler_output(log):
        task = progress.add_task("reclassify", total=None, unit="steps")

        def on_step(event, result):  # type: ignore[no-untyped-def]
            if event["step"] == "prepare":  # stats (maybe) + merge + classify per segment + summarize
                runs = len(result["segments"]) * (2 if result["run"]["needs_stats"] else 1)
                progress.update(task, total=2 + runs + 1)
            progress.advance(task, 1)

        result = run_reclassification(
            as_of=day, total_segments=segments, bucket=resolved.run_bucket, on_step=on_step
        )
    return result["summary"]


def _reclassify_in_aws(resolved, day, segments, console):  # type: ignore[no-untyped-def]
    from loyalty_tools.reclassify_aws import start_and_wait

    if not resolved.state_machine_arn:
        _fail(RuntimeError("the stack has no ReclassificationStateMachineArn output"))
    console.print(f"starting the state machine {resolved.state_machine_arn}", markup=False)
    try:
        return start_and_wait(
            resolved.state_machine_arn,
            day,
            segments,
            on_poll=lambda status, seconds: console.print(f"reclassify: {status}, {seconds:.0f}s"),
        )
    except RuntimeError as exc:
        _fail(exc)
    raise AssertionError("unreachable")


@app.command()
def simulate(
    programme: str = typer.Option(..., "--programme", help="Candidate programme file (JSON or YAML)"),
    as_of: str = typer.Option(..., "--as-of", help="Run date YYYY-MM-DD: classifies the month before"),
    segments: int = typer.Option(None, help="Parallel scan segments (default: from the table size)"),
    out: str = typer.Option("simulate-report", help="Folder for the PNG charts and index.html"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """What a programme change would do: the monthly run under a candidate programme, as a dry run
    (nothing written, nothing published): segments, tiers, migration, expiry, events, cost."""
    from loyalty.programme import ProgrammeError

    from loyalty_tools.target import TargetError
    from loyalty_tools.whatif import run_simulate

    try:
        run_simulate(programme, _date(as_of, "--as-of"), target, stack_name, segments, out)
    except (TargetError, ProgrammeError) as exc:
        _fail(exc)


@app.command()
def report(
    out: str = typer.Option("loyalty-report", help="Folder for the PNG charts and index.html"),
    segments: int = typer.Option(4, help="Parallel scan segments"),
    target: str = typer.Option("auto", help=TARGET_HELP),
    stack_name: str = typer.Option("LoyaltyStack", help="CloudFormation stack (--target aws)"),
) -> None:
    """Segment and tier movement, migration and points for any stack: tables and pictures."""
    from loyalty_tools.report import run_report
    from loyalty_tools.target import TargetError

    try:
        run_report(target, out, stack_name, segments)
    except TargetError as exc:
        _fail(exc)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
