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
