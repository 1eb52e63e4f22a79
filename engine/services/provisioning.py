"""Provisioning: what a workspace needs in storage and the catalog, and creating it.

`plan` is read-only; `apply` creates only what is missing, one audited step at a time, so
a failure half way leaves a state that the next `apply` completes.
"""

from __future__ import annotations

import json

from engine.context import Actor
from engine.errors import Conflict, SadeemError
from engine.services import audit
from engine.services.base import Service, ServiceDeps, authorize, ensure_active, get_workspace
from engine.services.lakehouse import Lakehouse
from engine.services.workspaces import WorkspaceService, WorkspaceView
from engine.views import Plan, Step

MARKER = "_sadeem_workspace.json"
# Namespace properties that tie a namespace to its workspace (read by the separation check).
WORKSPACE_PROPERTY = "sadeem.workspace"
LAYER_PROPERTY = "sadeem.layer"


class ProvisioningService(Service):
    def __init__(
        self, deps: ServiceDeps, workspaces: WorkspaceService, lakehouse: Lakehouse
    ) -> None:
        super().__init__(deps)
        self.workspaces = workspaces
        self.lakehouse = lakehouse

    def plan(self, actor: Actor, name: str) -> Plan:
        """What the workspace needs and what already exists. Changes nothing."""
        ws = self._authorized(actor, name, changes=False)
        return self._plan(actor, ws)

    def apply(self, actor: Actor, name: str) -> Plan:
        """Create the missing parts; each created part is its own audit event."""
        ws = self._authorized(actor, name)
        plan = self._plan(actor, ws)
        if plan.conflicts:
            first = plan.conflicts[0]
            raise Conflict(f"cannot provision {name!r}: {first.target}: {first.detail}")
        store = self.lakehouse.store(actor, ws)
        catalog = self.lakehouse.catalog(actor, ws)
        layers = {layer.namespace: layer for layer in self.lakehouse.layers(actor, ws)}
        done: list[Step] = []
        for step in plan.steps:
            if step.state != "missing":
                done.append(step)
                continue
            try:
                if step.kind == "bucket":
                    store.create_bucket(ws.bucket)
                elif step.kind == "marker":
                    store.put(ws.bucket, _marker_key(ws), _marker_body(ws))
                else:
                    layer = layers[step.target]
                    catalog.create_namespace(
                        (step.target,),
                        {
                            "location": layer.location,
                            WORKSPACE_PROPERTY: ws.name,
                            LAYER_PROPERTY: layer.name,
                        },
                    )
            except SadeemError as exc:
                raise type(exc)(
                    f"provisioning {name!r} stopped at {step.kind} {step.target}: {exc}; "
                    "run apply again once the cause is fixed"
                ) from None
            with self.unit() as s:
                audit.record(
                    s,
                    actor,
                    "workspace.provision",
                    step.kind,
                    step.target,
                    workspace=ws.name,
                    details={"detail": step.detail},
                )
            done.append(Step(step.kind, step.target, "created", step.detail))
        plan.steps = done
        return plan

    # -- helpers ----------------------------------------------------------------------------

    def _authorized(self, actor: Actor, name: str, changes: bool = True) -> WorkspaceView:
        with self.unit() as s:
            ws_row = get_workspace(s, name)
            authorize(s, actor, "workspace.provision", ws_row, changes=changes)
            ensure_active(ws_row)
        return self.workspaces.get(actor, name)

    def _plan(self, actor: Actor, ws: WorkspaceView) -> Plan:
        store = self.lakehouse.store(actor, ws)
        catalog = self.lakehouse.catalog(actor, ws)
        plan = Plan(ws.name)
        bucket_exists = store.bucket_exists(ws.bucket)
        plan.steps.append(
            Step(
                "bucket",
                ws.bucket,
                "exists" if bucket_exists else "missing",
                store.uri(ws.bucket, ""),
            )
        )
        marker_state, detail = "missing", f"claims {ws.bucket}/{ws.prefix} for {ws.name}"
        if bucket_exists:
            try:
                owner = json.loads(store.get(ws.bucket, _marker_key(ws))).get("workspace")
            except SadeemError:
                owner = None
            except ValueError:
                owner = "<unreadable marker>"
            if owner == ws.name:
                marker_state = "exists"
            elif owner is not None:
                marker_state, detail = "conflict", f"prefix already claimed by {owner!r}"
        plan.steps.append(Step("marker", f"{ws.bucket}/{_marker_key(ws)}", marker_state, detail))
        for layer in self.lakehouse.layers(actor, ws):
            state, detail = "missing", f"location {layer.location}"
            if catalog.namespace_exists((layer.namespace,)):
                props = catalog.namespace_properties((layer.namespace,))
                owner = props.get(WORKSPACE_PROPERTY)
                if owner not in (None, ws.name):
                    state, detail = "conflict", f"namespace belongs to workspace {owner!r}"
                elif props.get("location", layer.location).rstrip("/") != layer.location:
                    state = "conflict"
                    detail = f"namespace location {props.get('location')} is not {layer.location}"
                else:
                    state = "exists"
            plan.steps.append(Step("namespace", layer.namespace, state, detail))
        return plan


def _marker_key(ws: WorkspaceView) -> str:
    return f"{ws.prefix.strip('/')}/{MARKER}"


def _marker_body(ws: WorkspaceView) -> bytes:
    return json.dumps({"workspace": ws.name, "prefix": ws.prefix}).encode()
