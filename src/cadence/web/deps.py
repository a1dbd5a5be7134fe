"""Dependencies shared by the routes: the runtime and its services, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadence.runtime import Runtime
from cadence.services.alarms import AlarmService
from cadence.services.plant_data import PlantData


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_plant_data(request: Request) -> PlantData:
    return get_runtime(request).data


def get_alarm_service(request: Request) -> AlarmService:
    # Built per request: it holds nothing but the runtime's store and clock.
    runtime = get_runtime(request)
    return AlarmService(runtime.store, runtime.clock)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PlantDataDep = Annotated[PlantData, Depends(get_plant_data)]
AlarmServiceDep = Annotated[AlarmService, Depends(get_alarm_service)]
