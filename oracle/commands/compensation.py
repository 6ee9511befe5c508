"""`verai compensation`: a developer's compensation from the slashed stake of failed nodes."""

from oracle.commands._payouts import payout_group

compensation_group = payout_group(
    name="compensation",
    noun="compensation",
    view="compensationOf",
    action="claim",
    past="claimed",
    event="CompensationWithdrawn",
    about="Developer: the VER credited to you when a node running your work failed, and its claim.",
)
