"""The round state machine of one member: pure, fed by events, producing actions.

Events: `tick(now, view)` (time passes; `view` is what the member's mirror says at its cursor),
`computed(now, result)` (the member's own solution at a block, asked for by a `Compute`),
`proposal`, `signatures`, `attested` (authenticated peer messages, or the member's own).
Actions: `Compute`, `Propose`, `Sign`, `Broadcast`, `Hold`, `Transmit`, `RequestRound`, `Note`.
The service executes them (I/O) and feeds the results back as events; tests drive the machine
with plain values and a fake clock.

Rules (see the README "Oracle service" section):
* the round is the chain's latest round + 1 at the cursor; a held attested report keeps its
  round until the chain has all of its reports (or the hold times out);
* the leader of (round, attempt) proposes its solution at its cursor when it has entries; a
  member that has seen work (its own solution or a proposal) and holds no attested report
  `leader_timeout` after the attempt started moves to attempt + 1 (the next leader); halfway
  through an attempt without a proposal it asks its peers for the round (catch-up);
* a member signs a proposal only if its own reports at the proposal's block have the very same
  digests (byte-identical typed data), block hash and inputs digest, and never signs two
  different proposals of one (round, attempt);
* with `threshold` signatures of the same digests, a member that holds those reports forms the
  attested report; on first receipt it holds and re-broadcasts it (reliable broadcast);
* position k of the round's transmission order transmits `transmit_delay + k * stage_delay`
  after holding it, and again every n * stage_delay while the chain lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oracle.reports import Domain, Report, ReportError, select_quorum
from oracle.service.errors import RejectedMessage
from oracle.service.messages import Attested, Proposal, Signatures
from oracle.service.pacemaker import leader, position, transmission_order

MAX_BUFFERED = 64


@dataclass(frozen=True)
class View:
    """The member's chain state at its ingestion cursor."""

    cursor: int
    latest_round: int
    latest_snapshot_block: int
    service_index: int


@dataclass(frozen=True)
class Computed:
    """The member's own result for `round` at `block` (`error` set when it cannot solve there)."""

    round: int
    block: int
    block_hash: bytes = b""
    inputs_digest: bytes = b""
    reports: tuple[Report, ...] = ()
    digests: tuple[bytes, ...] = ()
    error: str = ""

    @property
    def entries(self) -> int:
        return sum(r.entry_count for r in self.reports)


# ------------------------------------------------------------------ actions
@dataclass(frozen=True)
class Compute:
    round: int
    block: int


@dataclass(frozen=True)
class Propose:
    proposal: Proposal  # unsigned: the service signs it with the member key
    computed: Computed


@dataclass(frozen=True)
class Sign:
    round: int
    attempt: int
    computed: Computed


@dataclass(frozen=True)
class Broadcast:
    message: Attested


@dataclass(frozen=True)
class Hold:
    attested: Attested


@dataclass(frozen=True)
class Transmit:
    attested: Attested
    position: int


@dataclass(frozen=True)
class RequestRound:
    round: int


@dataclass(frozen=True)
class Note:
    event: str
    detail: str = ""


Action = Compute | Propose | Sign | Broadcast | Hold | Transmit | RequestRound | Note


@dataclass
class _Round:
    number: int
    service_index: int
    started: float
    attempt: int = 0
    attempt_started: float = 0.0
    work_seen: bool = False
    computed: dict[int, Computed] = field(default_factory=dict)
    computing: set[int] = field(default_factory=set)
    proposal: Proposal | None = None
    proposed: set[int] = field(default_factory=set)
    signed: dict[int, tuple[bytes, ...]] = field(default_factory=dict)
    signatures: dict[tuple[bytes, ...], dict[str, Signatures]] = field(default_factory=dict)
    requested: set[int] = field(default_factory=set)


class RoundMachine:
    def __init__(
        self,
        *,
        me: str,
        members: tuple[str, ...],
        threshold: int,
        config_digest: bytes,
        domain: Domain,
        stage_delay: float,
        leader_timeout: float,
        transmit_delay: float = 0.0,
        hold_timeout: float | None = None,
    ) -> None:
        self.me = me
        self.members = members
        self.threshold = threshold
        self.config_digest = config_digest
        self.domain = domain
        self.stage_delay = stage_delay
        self.leader_timeout = leader_timeout
        self.transmit_delay = transmit_delay
        self.hold_timeout = hold_timeout or (
            transmit_delay + (len(members) + 2) * stage_delay * 3 + 4 * leader_timeout
        )
        self.round: _Round | None = None
        self.attested: Attested | None = None
        self.held_at = 0.0
        self.transmits = 0
        self.buffered: list[Proposal | Signatures | Attested] = []
        self._signed_before: dict[tuple[int, int], tuple[bytes, ...]] = {}
        self.chain_round = 0  # the chain's latest round at the last tick
        self.last_view: View | None = None

    def _not_stale(self, round: int, kind: str) -> None:
        if round <= self.chain_round:
            raise RejectedMessage(
                "stale", f"{kind} for round {round}: the chain is at round {self.chain_round}", 409
            )

    # ------------------------------------------------------------------ restore after restart
    def restore_signed(self, round: int, attempt: int, digests: tuple[bytes, ...]) -> None:
        self._signed_before[(round, attempt)] = digests

    def restore_attested(self, attested: Attested, now: float) -> None:
        self.attested = attested
        self.held_at = now
        self.transmits = 0

    # ------------------------------------------------------------------ helpers
    def leader_of(self, attempt: int) -> str:
        assert self.round is not None
        return leader(self.config_digest, self.round.service_index, attempt, self.members)

    def _position(self, first_round: int) -> int:
        order = transmission_order(self.config_digest, first_round, self.members)
        try:
            return position(order, self.me)
        except ValueError:  # an observer (dry run without a member key): after everyone
            return len(self.members)

    def _new_round(self, number: int, view: View, now: float) -> list[Action]:
        self.round = _Round(number, view.service_index, now, attempt_started=now)
        for (r, attempt), digests in self._signed_before.items():
            if r == number:
                self.round.signed[attempt] = digests
        actions: list[Action] = [Note("round_started", f"round {number}")]
        pending, self.buffered = self.buffered, []
        for message in pending:
            try:
                actions += self._dispatch(now, message)
            except RejectedMessage:
                continue
        return actions

    def _dispatch(self, now: float, message: Proposal | Signatures | Attested) -> list[Action]:
        if isinstance(message, Proposal):
            return self.on_proposal(now, message)
        if isinstance(message, Signatures):
            return self.on_signatures(now, message)
        return self.on_attested(now, message)

    def _buffer(self, message: Proposal | Signatures | Attested) -> list[Action]:
        if len(self.buffered) < MAX_BUFFERED:
            self.buffered.append(message)
        return []

    # ------------------------------------------------------------------ events
    def tick(self, now: float, view: View) -> list[Action]:
        actions: list[Action] = []
        next_round = view.latest_round + 1
        self.chain_round = max(self.chain_round, view.latest_round)
        self.last_view = view
        if self.attested is not None:
            if view.latest_round >= self.attested.last_round:
                actions.append(Note("round_complete", f"rounds {self.attested.first_round}"
                                    f"..{self.attested.last_round} on chain"))  # fmt: skip
                self.attested = None
            elif now - self.held_at > self.hold_timeout:
                actions.append(Note("hold_timeout", f"round {self.attested.first_round}"))
                self.attested = None
                if self.round is not None:
                    self.round.attempt += 1
                    self.round.attempt_started = now
                    self.round.proposal = None
            else:
                n = len(self.members)
                pos = self._position(self.attested.first_round)
                due = (
                    self.held_at
                    + self.transmit_delay
                    + pos * self.stage_delay
                    + self.transmits * n * self.stage_delay
                )
                if now >= due:
                    self.transmits += 1
                    actions.append(Transmit(self.attested, pos))
                return actions
        if self.round is None or self.round.number != next_round:
            if self.round is not None and self.round.number > next_round:
                return actions  # the view lags what we know (a reorg or a slow poll)
            actions += self._new_round(next_round, view, now)
        rnd = self.round
        assert rnd is not None
        if view.cursor not in rnd.computed and view.cursor not in rnd.computing:
            rnd.computing.add(view.cursor)
            actions.append(Compute(rnd.number, view.cursor))
        has_work = any(c.entries for c in rnd.computed.values()) or rnd.proposal is not None
        if has_work and not rnd.work_seen:
            rnd.work_seen = True
            rnd.attempt_started = now
        actions += self._maybe_propose(now, view)
        if rnd.work_seen:
            if now >= rnd.attempt_started + self.leader_timeout:
                rnd.attempt += 1
                rnd.attempt_started = now
                rnd.proposal = None
                actions.append(Note("leader_timeout", f"round {rnd.number} attempt {rnd.attempt}"))
                actions += self._maybe_propose(now, view)
            elif (
                rnd.proposal is None
                and rnd.attempt not in rnd.requested
                and now >= rnd.attempt_started + self.leader_timeout / 2
            ):
                rnd.requested.add(rnd.attempt)
                actions.append(RequestRound(rnd.number))
        p = rnd.proposal
        if (
            p is not None
            and p.snapshot_block <= view.cursor
            and p.snapshot_block not in rnd.computed
            and p.snapshot_block not in rnd.computing
        ):
            rnd.computing.add(p.snapshot_block)
            actions.append(Compute(rnd.number, p.snapshot_block))
        return actions

    def _maybe_propose(self, now: float, view: View) -> list[Action]:
        rnd = self.round
        assert rnd is not None
        if rnd.attempt in rnd.proposed or self.leader_of(rnd.attempt).lower() != self.me.lower():
            return []
        if rnd.proposal is not None and rnd.proposal.attempt == rnd.attempt:
            return []
        usable = [
            c
            for c in rnd.computed.values()
            if c.entries and not c.error and c.block >= view.latest_snapshot_block
        ]
        if not usable:
            return []
        best = max(usable, key=lambda c: c.block)
        rnd.proposed.add(rnd.attempt)
        proposal = Proposal(
            config_digest=self.config_digest,
            round=rnd.number,
            attempt=rnd.attempt,
            snapshot_block=best.block,
            block_hash=best.block_hash,
            inputs_digest=best.inputs_digest,
            report_digests=best.digests,
        )
        return [Propose(proposal, best)]

    def computed(self, now: float, result: Computed) -> list[Action]:
        rnd = self.round
        if rnd is None or result.round != rnd.number:
            return []
        rnd.computing.discard(result.block)
        rnd.computed[result.block] = result
        # keep the few latest results only (a member computes once per new cursor block)
        for block in sorted(rnd.computed)[:-8]:
            if rnd.proposal is None or block != rnd.proposal.snapshot_block:
                del rnd.computed[block]
        actions: list[Action] = []
        if result.error:
            actions.append(Note("compute_failed", result.error))
        if self.last_view is not None and self.attested is None:
            actions += self._maybe_propose(now, self.last_view)
        actions += self._maybe_sign()
        actions += self._maybe_attest(now)
        return actions

    def on_proposal(self, now: float, p: Proposal) -> list[Action]:
        self._not_stale(p.round, "proposal")
        rnd = self.round
        if rnd is None or p.round > rnd.number:
            return self._buffer(p)
        if p.round < rnd.number:
            raise RejectedMessage("stale", f"proposal for round {p.round} < {rnd.number}", 409)
        if p.signer.lower() != self.leader_of(p.attempt).lower():
            raise RejectedMessage(
                "wrong_leader", f"{p.signer} does not lead round {p.round} attempt {p.attempt}", 403
            )
        if p.attempt < rnd.attempt:
            raise RejectedMessage("stale", f"attempt {p.attempt} < {rnd.attempt}", 409)
        if rnd.proposal is not None and rnd.proposal.attempt == p.attempt:
            if rnd.proposal.report_digests == p.report_digests and (
                rnd.proposal.snapshot_block == p.snapshot_block
            ):
                raise RejectedMessage("replayed", "proposal already received", 409)
            raise RejectedMessage("equivocation", "a different proposal for this attempt", 409)
        if p.attempt > rnd.attempt:
            rnd.attempt = p.attempt
            rnd.attempt_started = now
        rnd.proposal = p
        if not rnd.work_seen:
            rnd.work_seen = True
            rnd.attempt_started = now
        return self._maybe_sign()

    def _maybe_sign(self) -> list[Action]:
        rnd = self.round
        if rnd is None or rnd.proposal is None or self.attested is not None:
            return []
        p = rnd.proposal
        if p.attempt in rnd.signed:
            return []
        mine = rnd.computed.get(p.snapshot_block)
        if mine is None:
            return []
        if mine.error:
            rnd.signed[p.attempt] = ()
            return [Note("not_signed", f"cannot solve at block {p.snapshot_block}: {mine.error}")]
        same = (
            mine.digests == p.report_digests
            and mine.block_hash == p.block_hash
            and mine.inputs_digest == p.inputs_digest
        )
        if not same:
            rnd.signed[p.attempt] = ()
            return [
                Note(
                    "mismatch",
                    f"round {p.round} attempt {p.attempt}: own reports differ from the proposal",
                )
            ]
        rnd.signed[p.attempt] = mine.digests
        return [Sign(rnd.number, p.attempt, mine)]

    def on_signatures(self, now: float, s: Signatures) -> list[Action]:
        self._not_stale(s.round, "signatures")
        rnd = self.round
        if rnd is None or s.round > rnd.number:
            return self._buffer(s)
        if s.round < rnd.number:
            raise RejectedMessage("stale", f"signatures for round {s.round} < {rnd.number}", 409)
        group = rnd.signatures.setdefault(s.report_digests, {})
        if s.signer.lower() in group:
            raise RejectedMessage("replayed", f"signatures of {s.signer} already received", 409)
        group[s.signer.lower()] = s
        if len(rnd.signatures) > 16:  # bounded: one group per distinct proposal
            raise RejectedMessage("flood", "too many distinct report sets", 429)
        return self._maybe_attest(now)

    def _maybe_attest(self, now: float) -> list[Action]:
        rnd = self.round
        if rnd is None or self.attested is not None:
            return []
        for digests, group in rnd.signatures.items():
            if len(group) < self.threshold:
                continue
            mine = next((c for c in rnd.computed.values() if c.digests == digests), None)
            if mine is None:
                continue
            quorums = []
            try:
                for i, report in enumerate(mine.reports):
                    sigs = [g.signatures[i] for g in group.values()]
                    quorums.append(
                        select_quorum(report, self.domain, self.members, self.threshold, sigs)
                    )
            except ReportError:
                continue
            attempt = min(g.attempt for g in group.values())
            attested = Attested(rnd.number, attempt, mine.reports, tuple(quorums))
            return self._hold(attested, now)
        return []

    def _hold(self, attested: Attested, now: float) -> list[Action]:
        self.attested = attested
        self.held_at = now
        self.transmits = 0
        return [Hold(attested), Broadcast(attested), Note("attested", f"round {attested.round}")]

    def on_attested(self, now: float, a: Attested) -> list[Action]:
        self._not_stale(a.last_round, "attested report")
        rnd = self.round
        if rnd is None or a.first_round > rnd.number:
            return self._buffer(a)
        if self.attested is not None:
            if [r.inputs_digest for r in self.attested.reports] == [
                r.inputs_digest for r in a.reports
            ] and self.attested.first_round == a.first_round:
                raise RejectedMessage("replayed", "attested report already held", 409)
            raise RejectedMessage("conflict", "another attested report is held", 409)
        if a.first_round < rnd.number:
            raise RejectedMessage("stale", f"attested round {a.first_round} < {rnd.number}", 409)
        return self._hold(a, now)
