"""`verai earnings`: a node owner's earnings from checkpointed work (show, withdraw)."""

from oracle.commands._payouts import payout_group

earnings_group = payout_group(
    name="earnings",
    noun="earnings",
    view="earningsOf",
    action="withdraw",
    past="withdrew",
    event="EarningsWithdrawn",
    about="Contributor: the VER your nodes earned for checkpointed work, and its withdrawal.",
)
