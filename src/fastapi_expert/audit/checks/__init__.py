"""The runtime checks, explicitly listed (importing this never imports FastAPI)."""

from __future__ import annotations

from fastapi_expert.audit.checks.auth_not_enforced import AuthNotEnforced
from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.checks.base_http_middleware import BaseHttpMiddleware
from fastapi_expert.audit.checks.cors_wildcard_with_credentials import CorsWildcardWithCredentials
from fastapi_expert.audit.checks.dangling_security_scheme import DanglingSecurityScheme
from fastapi_expert.audit.checks.debug_enabled import DebugEnabled
from fastapi_expert.audit.checks.docs_exposed_in_production import DocsExposedInProduction
from fastapi_expert.audit.checks.duplicate_operation_id import DuplicateOperationId
from fastapi_expert.audit.checks.https_not_enforced import HttpsNotEnforced
from fastapi_expert.audit.checks.internal_error_leak import InternalErrorLeak
from fastapi_expert.audit.checks.missing_response_model import MissingResponseModel
from fastapi_expert.audit.checks.missing_security_headers import MissingSecurityHeaders
from fastapi_expert.audit.checks.openapi_generation_failed import OpenapiGenerationFailed
from fastapi_expert.audit.checks.probe_timed_out import ProbeTimedOut
from fastapi_expert.audit.checks.server_error_on_bad_request import ServerErrorOnBadRequest
from fastapi_expert.audit.checks.shadowed_route import ShadowedRoute
from fastapi_expert.audit.checks.trusted_host_missing import TrustedHostMissing
from fastapi_expert.audit.checks.unauthenticated_mutating_route import UnauthenticatedMutatingRoute
from fastapi_expert.audit.checks.undeclared_path_parameter import UndeclaredPathParameter
from fastapi_expert.audit.checks.undocumented_operation import UndocumentedOperation

ALL_CHECKS: tuple[type[Check], ...] = tuple(
    sorted(
        (
            OpenapiGenerationFailed,
            ProbeTimedOut,
            ShadowedRoute,
            DuplicateOperationId,
            MissingResponseModel,
            CorsWildcardWithCredentials,
            UnauthenticatedMutatingRoute,
            InternalErrorLeak,
            DebugEnabled,
            DanglingSecurityScheme,
            DocsExposedInProduction,
            MissingSecurityHeaders,
            TrustedHostMissing,
            HttpsNotEnforced,
            AuthNotEnforced,
            BaseHttpMiddleware,
            UndocumentedOperation,
            UndeclaredPathParameter,
            ServerErrorOnBadRequest,
        ),
        key=lambda check: check.code,
    )
)

__all__ = ["ALL_CHECKS", "Check"]
