"""fastapi-expert: the FastAPI backend expert, as software.

The public surface is small on purpose: the value types every face shares
(findings, fixes, locations) and the review entry points.
"""

from __future__ import annotations

__version__ = "0.1.0"

from fastapi_expert.types import Area, Edit, Finding, Fix, Location, Severity

__all__ = ["Area", "Edit", "Finding", "Fix", "Location", "Severity", "__version__"]
