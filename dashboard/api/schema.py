"""Schema post-processing: the same OpenAPI document whatever database generated it."""

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


ERRORS = {
    "400": "A parameter or field is invalid; the body names it, e.g. {\"grain\": [\"...\"]}",
    "401": "No token, or an unknown or revoked one",
    "403": "The token is read-only (for PATCH) or the user is in no team",
    "429": "Too many requests for this token; retry after the Retry-After header's seconds",
}


def documented_errors(result, generator, request, public):
    """Every operation documents the errors every operation can answer (and detail routes their 404)."""
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS.items():
                responses.setdefault(code, {"description": text})
            if "{" in path:
                responses.setdefault("404", {"description": "Not one of the team's objects"})
    return result
