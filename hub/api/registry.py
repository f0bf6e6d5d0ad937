"""The API's route registry (populated at import by the route modules, like RouteTableDef)."""

from hub.api.openapi import ApiRoutes

api = ApiRoutes()
