"""The API's services, as a Powertools dependency: routes declare
`services: Annotated[Services, Depends(services)]`; the real wiring (loyalty.bootstrap) is built once
per container, on first use. Tests replace it per resolver: `resolver.dependency_overrides[services]`."""

from __future__ import annotations

from functools import lru_cache

from loyalty.bootstrap import Services, build_services
from loyalty.programme import Programme, load_programme
from loyalty.settings import get_settings

__all__ = ["Services", "programme", "services"]


@lru_cache(maxsize=1)
def services() -> Services:
    return build_services(get_settings())


@lru_cache(maxsize=1)
def programme() -> Programme:
    """The programme the OpenAPI document states its bounds from (no AWS client needed)."""
    return load_programme(get_settings().programme_file)
