"""Optional authorization of frontend calls: Temporal's JWT claim mapper and default authorizer.

Public surface: ``Authorizer``, ``AuthorizingInterceptor`` (gRPC), ``AuthorizingServicer``
(HTTP API), ``JwtClaimMapper``, ``JwksKeys``, ``Role``, ``Claims``.
"""

from frontend.auth.access import Role
from frontend.auth.authorizer import Authorizer, AuthorizingInterceptor, AuthorizingServicer
from frontend.auth.claims import Claims, JwksKeys, JwtClaimMapper

__all__ = [
    "Authorizer",
    "AuthorizingInterceptor",
    "AuthorizingServicer",
    "Claims",
    "JwksKeys",
    "JwtClaimMapper",
    "Role",
]
