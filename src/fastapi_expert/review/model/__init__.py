"""The semantic model: what a reviewer knows about the code before judging it.

    ModuleInfo    one file: imports, definitions, module-level assignments
    Project       all files: cross-module names, FastAPI apps, routers, routes,
                  dependency trees, the call graph and "runs on the event loop"
"""

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo
from fastapi_expert.review.model.project import Project

__all__ = ["ClassInfo", "FunctionInfo", "ModuleInfo", "Project"]
