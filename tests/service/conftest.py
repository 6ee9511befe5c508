from tests._localnet import localnet

__all__ = ["localnet"]
