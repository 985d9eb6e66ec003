"""What a flow node is: a type with ports, a config model, docs and an async `run`.

Every node type, built in or from a plugin package, is a subclass of `FlowNode`
registered through the entry-point group `kith.nodes` (see `registry`). One
instance is made per node of a deployed flow, with its validated config, so a
node compiles its conditions and templates once, in `__init__`, and `run` only
evaluates them."""

from __future__ import annotations

import builtins
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

if TYPE_CHECKING:
    from kith.workflows.run import FlowRun


class NodeConfig(BaseModel):
    """Base of node configs: unknown keys are a mistake worth a 422."""

    model_config = ConfigDict(extra="forbid")


class NoConfig(NodeConfig):
    """This node takes no configuration."""


C = TypeVar("C", bound=BaseModel)


@dataclass(slots=True, frozen=True)
class Output:
    """Where a node run goes next: `port` (None: nowhere, the branch ends here) with
    `payload`, the next nodes' input."""

    port: str | None
    payload: Any


class NodeError(Exception):
    """A node failed for a reason its user should read (shown in `errors` and traces)."""


class FlowNode(ABC, Generic[C]):
    type: ClassVar[str]
    """The id flows name the node by (`"if"`, `"http-call"`)."""
    name: ClassVar[str]
    family: ClassVar[str] = "other"
    ports: ClassVar[tuple[str, ...]] = ("out",)
    """Output ports. An edge that names no port leaves from `out`."""
    config_model: ClassVar[builtins.type[BaseModel]] = NoConfig
    io: ClassVar[bool] = False
    """True for nodes that wait on the outside world (HTTP, SMTP, sleeping): they run
    under the per-node timeout. Other nodes only compute and cannot hang."""
    snapshot: ClassVar[bool] = False
    """True for nodes that compare the profile with the profile as it was when the run
    started (`value-changed`): the engine copies the profile at the start of runs of
    flows that hold such a node, and only of those."""

    def __init__(self, config: C) -> None:
        self.config = config

    @abstractmethod
    async def run(self, run: FlowRun, payload: Any) -> Output:
        """Do the node's work for one input; raise NodeError (or anything) to fail."""

    def secrets(self) -> list[str]:
        """The secret values of the config (its `SecretStr` fields, such as an SMTP
        password): the engine blanks them out of error messages, so a secret never
        reaches a trace, `errors` or the log even when a library quotes it."""
        return [
            secret
            for value in self.config.__dict__.values()
            if isinstance(value, SecretStr) and (secret := value.get_secret_value())
        ]

    @classmethod
    def secret_fields(cls) -> list[str]:
        """Names of the config's secret fields: write-only in the admin API."""
        return [
            name
            for name, field in cls.config_model.model_fields.items()
            if field.annotation is SecretStr or field.annotation == SecretStr | None
        ]

    @classmethod
    def docs(cls) -> str:
        """The class docstring: what the node does, shown by `GET /api/nodes` and in
        docs/flows.md."""
        return inspect.cleandoc(cls.__doc__ or "")

    def out(self, payload: Any) -> Output:
        """Continue on the default port with `payload`."""
        return Output("out", payload)
