"""`deploy_all` over ape: the project's compiled contracts and any ape account (`ape run deploy`,
the in-process demo)."""

from __future__ import annotations

from typing import Any


class ApeBackend:
    """A `DeployBackend` on ape's connected provider, sending from `account`."""

    def __init__(self, project: Any, chain: Any, account: Any) -> None:
        self._project = project
        self._chain = chain
        self._account = account

    @property
    def chain_id(self) -> int:
        return int(self._chain.chain_id)

    @property
    def head_block(self) -> int:
        return int(self._chain.blocks.head.number)

    @property
    def deployer(self) -> str:
        return str(self._account.address)

    def balance(self) -> int:
        return int(self._account.balance)

    def deploy(self, contract: str, *args: Any) -> str:
        return str(self._account.deploy(getattr(self._project, contract), *args).address)

    def transact(self, contract: str, address: str, function: str, *args: Any) -> None:
        getattr(self.at(contract, address), function)(*args, sender=self._account)

    def call(self, contract: str, address: str, function: str, *args: Any) -> Any:
        return getattr(self.at(contract, address), function)(*args)

    def at(self, contract: str, address: str) -> Any:
        """The ape contract instance of `contract` at `address`."""
        return getattr(self._project, contract).at(address)

    def instances(self, addresses: dict[str, str]) -> dict[str, Any]:
        """Ape instances of a deployment's contracts, by name."""
        return {name: self.at(name, address) for name, address in addresses.items()}
