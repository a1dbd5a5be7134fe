"""Dependencies shared by the routes: the runtime and its services, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadence.runtime import Runtime
from cadence.services.plant_data import PlantData


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_plant_data(request: Request) -> PlantData:
    return get_runtime(request).data


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PlantDataDep = Annotated[PlantData, Depends(get_plant_data)]
