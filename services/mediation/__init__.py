"""The mediation service (调解): the roster, the mediation of accepted cases, agreements and deadlines."""
