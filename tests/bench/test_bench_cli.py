import pytest

from tests.bench.bench_cli_startup import report


@pytest.mark.bench
def test_cli_help_startup():
    figures = report(30)
    print(figures)
    assert figures["sadeem_help_median_ms"] > figures["python_pass_median_ms"]
