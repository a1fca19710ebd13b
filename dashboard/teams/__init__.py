"""Teams, their members and API tokens, and the login throttle: who may see what. Every other app scopes its
data by a team from here (``scoping``)."""
