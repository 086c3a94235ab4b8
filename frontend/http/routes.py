"""The HTTP routes of a gRPC service, read from its ``google.api.http`` method options.

Temporal's API protos annotate each RPC with an ``HttpRule`` (and ``additional_bindings``);
grpc-gateway serves every binding. Nothing here lists a path by hand: the table is what the
descriptors shipped in ``temporalio`` say, so an SDK upgrade brings its new routes along.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from frontend.http import template
from frontend.http.template import PathTemplate

_PATTERNS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC.

    Attributes:
        method: The RPC's descriptor (its service, name, request and response types).
        http_method: "GET", "POST", ... (a custom rule's kind as written).
        template: The parsed path template.
        body: "" (no body; query parameters fill the request), "*" (the body is the whole
            request) or the field path the body fills.
        response_body: "" (the whole response) or the field path answered.
    """

    method: MethodDescriptor
    http_method: str
    template: PathTemplate
    body: str
    response_body: str

    @property
    def rpc(self) -> str:
        """The RPC's name, e.g. "StartWorkflowExecution"."""
        return self.method.name


class RouteNotFoundError(LookupError):
    """No route has this path."""


class MethodNotAllowedError(LookupError):
    """Routes have this path, none with this HTTP method."""


def http_rules(method: MethodDescriptor) -> list[http_pb2.HttpRule]:
    """The method's ``google.api.http`` rule and its additional bindings, in order."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule = options.Extensions[annotations_pb2.http]
    return [rule, *rule.additional_bindings]


def routes_of(service: ServiceDescriptor) -> list[Route]:
    """Every binding of every method of ``service``, in grpc-gateway's registration order.

    Raises:
        template.TemplateError: A rule's path does not parse.
    """
    routes: list[Route] = []
    for method in service.methods:
        for rule in http_rules(method):
            kind = rule.WhichOneof("pattern")
            if kind is None:
                continue
            if kind == "custom":
                http_method, path = rule.custom.kind.upper(), rule.custom.path
            else:
                http_method, path = kind.upper(), getattr(rule, kind)
            routes.append(
                Route(method, http_method, template.parse(path), rule.body, rule.response_body)
            )
    return routes


class RouteTable:
    """Finds the route of a request the way grpc-gateway's ServeMux does.

    Routes registered later win over earlier ones that also match (grpc-gateway prepends
    each new handler), so ``routes`` are searched from the end.
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._by_method: dict[str, list[Route]] = {}
        for route in reversed(self.routes):
            self._by_method.setdefault(route.http_method, []).append(route)

    def resolve(
        self, http_method: str, path: str, get_fallback: bool = False
    ) -> tuple[Route, dict[str, str]]:
        """The route serving ``http_method path`` and its path captures.

        Args:
            http_method: The request's method.
            path: The percent-decoded path, starting with "/".
            get_fallback: Whether a GET route may serve this request when no route of its
                own method does (grpc-gateway's fallback for form-encoded POSTs).

        Raises:
            RouteNotFoundError: No route has this path.
            MethodNotAllowedError: Only routes of other methods have this path.
        """
        components = path[1:].split("/")
        found = _first_match(self._by_method.get(http_method, ()), components)
        if found is not None:
            return found
        if get_fallback and http_method != "GET":
            found = _first_match(self._by_method.get("GET", ()), components)
            if found is not None:
                return found
        for other, routes in self._by_method.items():
            if other != http_method and _first_match(routes, components) is not None:
                raise MethodNotAllowedError(f"{http_method} {path}")
        raise RouteNotFoundError(f"{http_method} {path}")


def _first_match(
    routes: Sequence[Route], components: list[str]
) -> tuple[Route, dict[str, str]] | None:
    last = components[-1]
    for route in routes:
        comps, verb = components, ""
        pattern_verb = route.template.verb
        if pattern_verb and last.endswith(":" + pattern_verb):
            cut = len(last) - len(pattern_verb) - 1
            if cut == 0:
                continue
            comps = [*components[:-1], last[:cut]]
            verb = pattern_verb
        params = route.template.match(comps, verb)
        if params is not None:
            return route, params
    return None
