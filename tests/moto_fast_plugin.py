"""`pytest -p tests.moto_fast_plugin ...`: in-process moto with the local moto server's patches
(loyalty_tools.moto_fast.install_all), so that a suite written against moto (tests/contract) checks
that the patched moto keeps the semantics the code relies on: conditions, all-or-nothing transactions,
ReturnValues."""

from loyalty_tools.moto_fast import install_all

install_all()
