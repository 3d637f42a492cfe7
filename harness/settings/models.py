"""Pydantic models of the ``vpn-configs`` files, with the checks the Nix modules also assert."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_INTERFACE_NAME = 15  # IFNAMSIZ - 1


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LanSettings(_Frozen):
    subnet: str
    mtu: int = Field(default=1500, ge=576, le=65535)
    interface: str = "lan0"

    @field_validator("subnet")
    @classmethod
    def _valid_subnet(cls, value: str) -> str:
        ipaddress.ip_network(value)
        return value


class TestbedSettings(_Frozen):
    hosts: list[str] = Field(min_length=2)
    lan: LanSettings

    @field_validator("hosts")
    @classmethod
    def _unique_hosts(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"host names must be unique, got {value}")
        return value


class PortSettings(_Frozen):
    port: int = Field(ge=1, le=65535)
    protocols: list[Literal["tcp", "udp"]] = Field(min_length=1)


class AddressingSettings(_Frozen):
    mode: Literal["underlay", "static", "derived", "assigned"]
    subnet: str | None = None
    family: Literal["ipv4", "ipv6"] | None = None

    @model_validator(mode="after")
    def _subnet_when_static(self) -> AddressingSettings:
        if self.mode == "static" and self.subnet is None:
            raise ValueError("addressing mode 'static' needs a subnet")
        if self.subnet is not None:
            ipaddress.ip_network(self.subnet)
        return self


class VpnSettings(_Frozen):
    name: str
    display_name: str
    description: str = ""
    interface: str | None = None
    mtu: int | None = Field(default=None, ge=576, le=65535)
    coordinator: str | None = None
    addressing: AddressingSettings
    ports: dict[str, PortSettings] = Field(default_factory=dict)
    options: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("interface")
    @classmethod
    def _interface_fits(cls, value: str | None) -> str | None:
        if value is not None and not 0 < len(value) <= MAX_INTERFACE_NAME:
            raise ValueError(
                f"interface name {value!r} is {len(value)} characters; Linux allows at most "
                f"{MAX_INTERFACE_NAME}"
            )
        return value

    def port(self, name: str = "listen") -> int:
        try:
            return self.ports[name].port
        except KeyError:
            raise KeyError(f"{self.name}: vpn-configs defines no port {name!r}") from None
