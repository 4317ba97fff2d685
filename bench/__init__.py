"""Benchmarks for origami-slack: ``python -m bench [--quick]`` (see ``bench/__main__.py``).

Performance is measured here, by hand, against the app as a process (``python -m bot``)
and the test fakes served in their own processes; never by timed assertions in tests.
"""
