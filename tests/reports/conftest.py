"""The reports' tests open their cases through the API as the cases' tests do, with the same fixture."""

from tests.cases.conftest import open_case

__all__ = ["open_case"]
