"""The local AWS: moto's control plane for several accounts, plus the enforcement moto lacks."""

from xacct.local.server import AccountCredentials, LocalAws

__all__ = ["AccountCredentials", "LocalAws"]
