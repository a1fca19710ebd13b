"""The schema's views, with the API's JSON errors, and its post-processing: the same OpenAPI document whatever
database generated it, every error documented."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dashboard.api.negotiation import JsonErrors


class SchemaView(JsonErrors, SpectacularAPIView):
    """The OpenAPI document (YAML, or JSON with ``?format=json``)."""


class DocsView(JsonErrors, SpectacularSwaggerSplitView):
    """Swagger UI over the schema."""


BACKEND_MAXIMA = {32_767, 2_147_483_647, 9_223_372_036_854_775_807}
BACKEND_MINIMA = {-32_768, -2_147_483_648, -9_223_372_036_854_775_808}


def database_neutral(result, generator, request, public):
    """drf-spectacular takes integer bounds from the database backend (SQLite's are 64-bit, PostgreSQL's depend
    on the column type); those storage limits are dropped so the checked-in schema does not depend on the
    database. Bounds the code sets (validators) stay."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                if node.get("maximum") in BACKEND_MAXIMA:
                    del node["maximum"]
                if node.get("minimum") in BACKEND_MINIMA:
                    del node["minimum"]
                if node.get("format") == "int64":
                    del node["format"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


ERROR_SCHEMAS = {
    "Error": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    "ParameterErrors": {
        "type": "object",
        "minProperties": 1,
        "description": "Each invalid parameter or field by name, with what is wrong with it (a body that is not "
        "JSON at all: `detail`)",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}
ERRORS = {
    "400": (
        "ParameterErrors",
        'A parameter or field is invalid or empty; the body names it, e.g. {"grain": ["..."]}, or {"format": '
        '["..."]} for a format this resource does not have (the message lists those it has)',
    ),
    "401": ("Error", "No token, or an unknown or revoked one"),
    "403": ("Error", "The token is read-only (for PATCH) or the user is in no team"),
    "406": ("Error", "`Accept` asks only for representations this resource does not have"),
    "429": ("Error", "Too many requests for this token; retry after the Retry-After header's seconds"),
    "500": ("Error", "An error of Wattson's, logged on the server; the body is JSON like every error's"),
}
NOT_FOUND = ("Error", "Not one of the team's objects")
UNSUPPORTED = ("Error", "The body is not JSON (`Content-Type: application/json`)")
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
CSV = {
    "type": "string",
    "description": "CSV (RFC 4180: comma, double quotes, CRLF): a header row of the JSON fields' names in their JSON "
    "order, then one row per result with the JSON's values. Text is written as is, except that text starting with "
    "=, +, -, @, a tab or a carriage return gets a leading ' (spreadsheets would run it as a formula); numbers as "
    "in the JSON; booleans true or false; null an empty cell; a nested value (an object or a list: tags, variants, "
    "summary_30d, evidence) its JSON text, to read with any JSON parser.",
}


def _error(component: str, text: str) -> dict:
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def documented_errors(result, generator, request, public):
    """Every operation documents the errors every operation can answer (detail routes their 404, bodies their
    415), each with its JSON body: errors are JSON whatever format was asked for."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for code, (component, text) in ERRORS.items():
                responses.setdefault(code, _error(component, text))
            responses["429"]["headers"] = RETRY_AFTER
            if "{" in path:
                responses.setdefault("404", _error(*NOT_FOUND))
            if "requestBody" in operation:
                responses.setdefault("415", _error(*UNSUPPORTED))
    return csv_is_text(result, generator, request, public)  # chained: the settings list this hook only


FORMAT_TEXT = (
    "json (the default) or csv (also `Accept: text/csv`): the same fields and values (a list: every row, not paged, "
    "streamed). " + CSV["description"]
)


def csv_is_text(result, generator, request, public):
    """A CSV response is text, not the JSON object drf-spectacular repeats under every media type; the ``format``
    parameter says how the CSV writes the JSON's values."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "format" and "csv" in parameter["schema"].get("enum", []):
                    parameter["description"] = FORMAT_TEXT
            for response in operation.get("responses", {}).values():
                if "text/csv" in response.get("content", {}):
                    response["content"]["text/csv"] = {"schema": CSV}
    return result
