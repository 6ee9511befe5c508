"""One committee member process: ingestion, the round machine, the peer network, transmission,
keeper duties, publication and observation, wired together.

Threads: the asyncio loop runs the machine, the peer server and client (the machine is only ever
touched from the loop); one "chain" worker thread polls ingestion and computes rounds (SQLite
and the RPC are blocking); one "tx" worker thread sends transactions one at a time (one nonce
sequence). Every cycle is bounded by the poll interval and pulses /healthz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from oracle import vrf
from oracle.chain.connection import Chain, load_signer, open_chain
from oracle.chain.errors import ChainError
from oracle.chain.ingest import Ingestor
from oracle.chain.keystore import keystore_address
from oracle.chain.mirror import Mirror
from oracle.chain.tx import TxSender
from oracle.checkpoints import IpfsStore, LocalStore
from oracle.observe.health import Health
from oracle.observe.logs import log_context
from oracle.observe.server import ObservationServer
from oracle.reports import Domain
from oracle.service.digest import sign_digests
from oracle.service.document import RoundDocument, build_document
from oracle.service.errors import RejectedMessage, ServiceError
from oracle.service.inputs import GasTable, Parameters
from oracle.service.keeper import Keeper, duties
from oracle.service.machine import (
    Action,
    Broadcast,
    Compute,
    Computed,
    Hold,
    Note,
    Propose,
    RequestRound,
    RoundMachine,
    Sign,
    Transmit,
    View,
)
from oracle.service.messages import (
    Attested,
    Authenticator,
    Proposal,
    Signatures,
    digests_of,
    encode,
    parse_message,
)
from oracle.service.metrics import Metrics
from oracle.service.pacemaker import transmission_order
from oracle.service.peers import PeerClient, PeerServer
from oracle.service.persistence import ServiceStore
from oracle.service.reader import Committee, RoundReader
from oracle.service.settings import OracleSettings, read_vrf_key
from oracle.service.solve import solve
from oracle.service.transmitter import Transmitter
from oracle.store import Database

log = logging.getLogger("oracle.service")
OBSERVER = "0x0000000000000000000000000000000000000000"


@dataclass
class _State:
    view: View | None = None
    committee: Committee | None = None
    head: int = 0
    head_time: int = 0


class Member:
    def __init__(self, settings: OracleSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.health = Health(settings.health_timeout)
        self.chain: Chain = open_chain(settings, on_error=self.metrics.on_rpc_error)
        contracts = self.chain.contracts
        self.verifier = str(contracts.verifier.address)
        self.domain = Domain(self.chain.chain_id, self.verifier)
        self.account: LocalAccount | None = (
            load_signer(settings, required=True) if settings.signs else None
        )
        if self.account is not None:
            self.me = str(self.account.address)
        elif settings.keystore is not None:
            self.me = keystore_address(settings.keystore)
        else:
            self.me = OBSERVER
        self.vrf_key = read_vrf_key(settings.vrf_key_file) if settings.vrf_key_file else None
        if settings.signs and self.vrf_key is None:
            raise ServiceError(
                "setting vrf_key_file (VERAI_VRF_KEY_FILE) = (missing): a signing member needs "
                "the committee's VRF key to prove reassignments"
            )
        self.db = Database(settings.db)
        self.db.bind(chain_id=str(self.chain.chain_id), verifier=self.verifier.lower())
        self.mirror = Mirror(self.db)
        self.ingestor = Ingestor(
            self.chain.rpc,
            self.db,
            addresses=contracts.ingest_addresses(),
            contract_of=contracts.names_by_address(),
            sinks=[self.mirror],
            start_block=settings.start_block or self.chain.record.start_block,
            confirmations=settings.confirmations,
        )
        self.reader = RoundReader(
            self.mirror,
            self.ingestor,
            self.chain.rpc,
            chain_id=self.chain.chain_id,
            market=str(contracts.market.address),
            verifier=self.verifier,
        )
        self.store = ServiceStore(self.db)
        self.publisher: LocalStore | IpfsStore = (
            IpfsStore(settings.ipfs_url) if settings.ipfs_url else LocalStore(settings.store_folder)
        )
        self.sender: TxSender | None = None
        if self.account is not None:
            self.sender = TxSender(
                self.chain.rpc,
                self.account,
                self.chain.chain_id,
                db=self.db,
                fee_ceiling=settings.fee_ceiling_wei,
                replace_after=max(10.0, 4 * settings.poll_interval),
                observer=self.metrics.observer(),
            )
        self.transmitter = (
            Transmitter(contracts, self.sender, self.domain, self.metrics) if self.sender else None
        )
        self.keeper = Keeper(
            contracts, self.sender, self.metrics, me=self.me, keeper_delay=settings.keeper_delay
        )
        self.client = PeerClient(settings.peers)
        self.server = PeerServer(
            settings.listen_host,
            settings.listen_port,
            limit=settings.max_message_bytes,
            on_message=self.handle_body,
            round_messages=self.store.messages,
            status=self.status,
            on_oversized=lambda: self.metrics.rejected.labels("oversized").inc(),
        )
        self.observation = ObservationServer(
            settings.metrics_host, settings.metrics_port, self.metrics.registry, self.health
        )
        self.machine: RoundMachine | None = None
        self.auth: Authenticator | None = None
        self.state = _State()
        self.documents: dict[tuple[int, int], RoundDocument] = {}
        self.chain_pool = ThreadPoolExecutor(1, thread_name_prefix="chain")
        self.tx_pool = ThreadPoolExecutor(1, thread_name_prefix="tx")
        self._transmitting: set[int] = set()
        self._keeper_busy = False
        self._keeper_block = -1
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cycles = 0

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        port = await self.server.start()
        self.observation.start()
        log.info(
            "oracle member started",
            extra={
                "member": self.me,
                "peer_port": port,
                "metrics_port": self.observation.port,
                "dry_run": not self.settings.signs,
                "peers": self.settings.peers,
            },
        )
        if self.sender is not None:
            self._spawn(self._resume_pending())
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    await self.cycle()
                except ChainError as exc:
                    log.warning("cycle failed, retrying: %s", exc)
                self.metrics.cycle_seconds.observe(time.monotonic() - started)
                delay = max(0.0, self.settings.poll_interval - (time.monotonic() - started))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
        finally:
            log.info("oracle member stopping")
            for task in list(self._tasks):
                task.cancel()
            await self.server.stop()
            await self.client.close()
            self.observation.stop()
            self.chain_pool.shutdown(wait=True, cancel_futures=True)
            self.tx_pool.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        self._stop.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in(self, pool: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def _resume_pending(self) -> None:
        assert self.sender is not None
        outcomes = await self._in(self.tx_pool, self.sender.resume)
        for outcome in outcomes:
            log.info("resumed transaction %s: %s", outcome.key, outcome.state)

    # ------------------------------------------------------------------ one cycle
    def _poll_chain(self) -> _State:
        result = self.ingestor.poll()
        if result.reorg_depth:
            self.metrics.reorgs.inc()
            self.metrics.reorg_depth.inc(result.reorg_depth)
            log.warning("reorg: rewound %d blocks", result.reorg_depth)
        self.metrics.ingestion_lag.set(result.lag)
        self.metrics.cursor.set(result.cursor)
        view = self.reader.view()
        committee = self.reader.committee(view.cursor)
        head_time = self.reader.header(result.head)[1] if result.head else 0
        if self._cycles % 10 == 0:
            self._gauges(view.cursor)
        self._cycles += 1
        return _State(view, committee, result.head, head_time)

    def _gauges(self, block: int) -> None:
        timestamp = self.mirror.block_timestamp(block) or self.reader.header(block)[1]
        names = self.chain.record.class_names()
        totals: dict[str, int] = {name: 0 for name in names.values()}
        for task in self.mirror.pending_tasks_at(block, timestamp):
            label = names.get(task.resource_class, "0x" + task.resource_class.hex())
            totals[label] = totals.get(label, 0) + task.pending
        for label, units in totals.items():
            self.metrics.pending_units.labels(label).set(units)
        if self.sender is not None:
            with contextlib.suppress(ChainError):
                self.metrics.balance.set(self.sender.balance())

    async def cycle(self) -> None:
        state = await self._in(self.chain_pool, self._poll_chain)
        self.state = state
        if state.view is None or state.committee is None:
            self.health.pulse(cursor=state.view.cursor if state.view else None)
            return
        self._ensure_machine(state.committee)
        assert self.machine is not None
        now = time.monotonic()
        with log_context(round=state.view.latest_round + 1, block=state.view.cursor):
            await self.execute(self.machine.tick(now, state.view))
            if self.machine.round is not None:
                self.metrics.round_gauge.set(self.machine.round.number)
                self.metrics.attempt_gauge.set(self.machine.round.attempt)
            if not self._keeper_busy and state.view.cursor != self._keeper_block:
                self._keeper_busy = True  # once per ingested block at most
                self._keeper_block = state.view.cursor
                self._spawn(self._keeper_cycle(state))
        self.health.pulse(cursor=state.view.cursor, round=state.view.latest_round + 1)

    def _ensure_machine(self, committee: Committee) -> None:
        if self.machine is not None and self.machine.config_digest == committee.config_digest:
            return
        if self.account is not None and self.me.lower() not in {
            m.lower() for m in committee.members
        }:
            log.warning("this member's address %s is not in the committee config", self.me)
        self.auth = Authenticator(
            self.domain, committee.config_digest, committee.members, committee.threshold
        )
        self.machine = RoundMachine(
            me=self.me,
            members=committee.members,
            threshold=committee.threshold,
            config_digest=committee.config_digest,
            domain=self.domain,
            stage_delay=self.settings.stage_delay,
            leader_timeout=self.settings.leader_timeout,
            transmit_delay=self.settings.transmit_delay,
        )
        view = self.state.view
        latest = view.latest_round if view else 0
        for round_, attempt, digests in self.store.signed(latest + 1):
            self.machine.restore_signed(round_, attempt, digests)
        for body in self.store.held(latest):
            try:
                held = self.auth.check(parse_message(body, 1 << 30))
            except RejectedMessage as exc:
                log.warning("held attested report no longer valid: %s", exc)
                continue
            if isinstance(held, Attested):
                self.machine.restore_attested(held, time.monotonic())
                log.info("resuming the transmission of round %d", held.first_round)

    # ------------------------------------------------------------------ actions
    async def execute(self, actions: list[Action]) -> None:
        for action in actions:
            await self._execute_one(action)

    async def _execute_one(self, action: Action) -> None:
        assert self.machine is not None
        now = time.monotonic()
        if isinstance(action, Compute):
            self._spawn(self._compute_then_feed(action.round, action.block))
        elif isinstance(action, Propose):
            if self.account is None:
                log.info(
                    "dry run: would propose",
                    extra={"snapshot_block": action.proposal.snapshot_block,
                           "entries": action.computed.entries},
                )  # fmt: skip
                return
            signed = action.proposal.signed(self.domain, self.account.key)
            body = encode(signed)
            self.store.remember(signed.round, f"proposal:{signed.attempt}", body)
            log.info(
                "proposal sent",
                extra={"attempt": signed.attempt, "snapshot_block": signed.snapshot_block,
                       "reports": len(signed.report_digests), "entries": action.computed.entries},
            )  # fmt: skip
            await self.client.broadcast(body)
            await self._feed(lambda: self.machine.on_proposal(now, signed))
        elif isinstance(action, Sign):
            await self._sign(action)
        elif isinstance(action, Broadcast):
            if self.account is None:  # a dry run sends nothing, not even others' reports
                log.info("dry run: would re-broadcast the attested report")
                return
            await self.client.broadcast(encode(action.message))
        elif isinstance(action, Hold):
            a = action.attested
            if self.account is None:
                log.info("dry run: an attested report", extra={"reports": len(a.reports)})
                return
            self.store.hold(a.first_round, a.last_round, encode(a))
            log.info("attested report held", extra={"reports": len(a.reports)})
        elif isinstance(action, Transmit):
            self._transmit(action)
        elif isinstance(action, RequestRound):
            self._spawn(self._catch_up(action.round))
        elif isinstance(action, Note):
            self._note(action)

    async def _feed(self, handler: Any) -> None:
        try:
            actions = handler()
        except RejectedMessage as exc:
            log.debug("own message not taken: %s", exc)
            return
        await self.execute(actions)

    def _note(self, note: Note) -> None:
        results = {
            "round_complete": "completed",
            "mismatch": "mismatch",
            "leader_timeout": "leader_timeout",
            "hold_timeout": "hold_timeout",
            "not_signed": "not_signed",
        }
        if note.event in results:
            self.metrics.rounds.labels(results[note.event]).inc()
        level = logging.WARNING if note.event in ("mismatch", "hold_timeout") else logging.INFO
        log.log(level, "%s: %s", note.event.replace("_", " "), note.detail)

    # ------------------------------------------------------------------ compute
    def _compute(self, round_: int, block: int) -> Computed:
        started = time.monotonic()
        committee = self.reader.committee(block)
        params = Parameters(
            theta_bps=self.settings.theta_bps,
            overload_margin_bps=self.settings.overload_margin_bps,
            gas_cap=self.settings.gas_cap,
            threshold=committee.threshold if committee else 1,
            gas=GasTable(),
        )
        try:
            inputs = self.reader.inputs(round_, block, params)
        except (ValueError, LookupError) as exc:
            return Computed(round_, block, error=str(exc))

        def prove(alpha: bytes) -> bytes:
            if self.vrf_key is None:
                raise ServiceError("no VRF key (VERAI_VRF_KEY_FILE): cannot prove reassignments")
            return vrf.prove(self.vrf_key, alpha)

        try:
            solution = solve(inputs, prove)
        except ServiceError as exc:
            return Computed(round_, block, error=str(exc))
        document = build_document(inputs, solution)
        reports = document.reports()
        self.documents[(round_, block)] = document
        for key in sorted(self.documents)[:-16]:
            del self.documents[key]
        self.metrics.compute_seconds.observe(time.monotonic() - started)
        if reports:
            log.info(
                "round computed",
                extra={"round": round_, "block": block, "reports": len(reports),
                       "entries": solution.entry_count, "cid": document.cid,
                       "allocations": len(solution.allocation.entries),
                       "moves": len(solution.moves),
                       "reassignments": len(solution.reassignments)},
            )  # fmt: skip
        return Computed(
            round=round_,
            block=block,
            block_hash=bytes.fromhex(inputs.block_hash[2:]),
            inputs_digest=document.inputs_digest,
            reports=reports,
            digests=digests_of(reports, self.domain),
        )

    async def _compute_then_feed(self, round_: int, block: int) -> None:
        try:
            result = await self._in(self.chain_pool, self._compute, round_, block)
        except ChainError as exc:
            result = Computed(round_, block, error=f"chain: {exc}")
        if self.machine is not None:
            with log_context(round=round_, block=block):
                await self.execute(self.machine.computed(time.monotonic(), result))

    async def _sign(self, action: Sign) -> None:
        assert self.machine is not None
        c = action.computed
        document = self.documents.get((action.round, c.block))
        if self.account is None or document is None:
            log.info("dry run: would sign", extra={"attempt": action.attempt, "entries": c.entries})
            return
        cid = await self._in(self.chain_pool, self.publisher.put, document.data)
        if cid != document.cid:
            log.error("the store returned CID %s for document %s: not signed", cid, document.cid)
            return
        self.store.record_signed(action.round, action.attempt, c.digests)
        self.store.record_round(
            action.round, len(c.reports), c.entries, document.cid, c.block, "signed"
        )
        sigs = sign_digests(c.digests, self.account.key)  # the digests of c.reports
        message = Signatures(
            self.machine.config_digest, action.round, action.attempt, c.digests, sigs, self.me
        )
        body = encode(message)
        self.store.remember(action.round, f"signatures:{self.me.lower()}:{action.attempt}", body)
        log.info("signed", extra={"attempt": action.attempt, "reports": len(c.reports),
                                  "cid": document.cid})  # fmt: skip
        await self.client.broadcast(body)
        now = time.monotonic()
        await self._feed(lambda: self.machine.on_signatures(now, message))

    # ------------------------------------------------------------------ messages
    async def handle_body(self, body: bytes, *, count: bool = True) -> tuple[int, dict[str, Any]]:
        """Parses, authenticates and feeds one peer message; never raises."""
        if self.machine is None or self.auth is None:
            return 503, {"error": "not ready: no committee config ingested yet"}
        try:
            message = self.auth.check(parse_message(body, self.settings.max_message_bytes))
            now = time.monotonic()
            with log_context(round=message.round):
                if isinstance(message, Proposal):
                    actions = self.machine.on_proposal(now, message)
                    key = f"proposal:{message.attempt}"
                elif isinstance(message, Signatures):
                    actions = self.machine.on_signatures(now, message)
                    key = f"signatures:{message.signer.lower()}:{message.attempt}"
                else:
                    actions = self.machine.on_attested(now, message)
                    key = "attested"
                self.store.remember(message.round, key, encode(message))
                self.metrics.accepted.labels(key.split(":")[0]).inc()
                await self.execute(actions)
        except RejectedMessage as exc:
            if count:
                self.metrics.rejected.labels(exc.reason).inc()
            # every member re-broadcasts the attested report: replays are the normal case
            level = logging.DEBUG if exc.reason == "replayed" else logging.INFO
            log.log(level, "message rejected (%s): %s", exc.reason, exc)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        except Exception as exc:  # a bug must not take the member down; it is logged loudly
            log.exception("message handling failed")
            self.metrics.rejected.labels("internal").inc()
            return 500, {"error": f"internal error: {type(exc).__name__}"}
        return 202, {"accepted": True}

    async def _catch_up(self, round_: int) -> None:
        bodies = await self.client.fetch_round(round_)
        if bodies:
            log.info("catching up on round %d: %d messages from peers", round_, len(bodies))
        for body in bodies:
            await self.handle_body(body, count=False)

    # ------------------------------------------------------------------ transmission
    def _transmit(self, action: Transmit) -> None:
        attested = action.attested
        if self.transmitter is None:
            log.info("dry run: would transmit round %d", attested.first_round)
            return
        if attested.first_round in self._transmitting:
            return
        self._transmitting.add(attested.first_round)
        log.info("transmitting (position %d)", action.position,
                 extra={"round": attested.first_round})  # fmt: skip

        async def run() -> None:
            try:
                result = await self._in(self.tx_pool, self.transmitter.transmit, attested)  # type: ignore[union-attr]
                if result.sent:
                    self.metrics.rounds.labels("transmitted").inc()
                    await self._in(self.chain_pool, self._latency, attested, result.mined_blocks)
            finally:
                self._transmitting.discard(attested.first_round)

        self._spawn(run())

    def _latency(self, attested: Attested, mined: dict[int, int]) -> None:
        for report in attested.reports:
            block = mined.get(report.round)
            if not block:
                continue
            _, mined_time = self.reader.header(block)
            for entry in report.allocations:
                row = self.db.execute(
                    "SELECT block_number FROM logs WHERE event = 'TaskSubmitted' AND "
                    "json_extract(args, '$.taskId') = ?",
                    (entry.task_id,),
                ).fetchone()
                if row is None:
                    continue
                submitted = int(row[0])
                self.metrics.latency_blocks.observe(block - submitted)
                self.metrics.latency_seconds.observe(mined_time - self.reader.header(submitted)[1])

    # ------------------------------------------------------------------ keeper
    async def _keeper_cycle(self, state: _State) -> None:
        try:
            if state.view is None or self.machine is None:
                return
            found = await self._in(
                self.chain_pool, duties, self.mirror, self.chain.contracts, state.view.cursor,
                state.head_time,
            )  # fmt: skip
            self.keeper.forget({d.name for d in found})
            order = transmission_order(
                self.machine.config_digest, state.view.latest_round + 1, self.machine.members
            )
            if self.me.lower() not in {m.lower() for m in order}:
                return
            for duty in found:
                if self.keeper.due(duty, order, state.head_time):
                    await self._in(self.tx_pool, self.keeper.perform, duty)
        finally:
            self._keeper_busy = False

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        view = self.state.view
        rnd = self.machine.round if self.machine else None
        return {
            "member": self.me,
            "dry_run": not self.settings.signs,
            "cursor": view.cursor if view else None,
            "head": self.state.head,
            "latest_round": view.latest_round if view else None,
            "round": rnd.number if rnd else None,
            "attempt": rnd.attempt if rnd else None,
            "holding": self.machine.attested.first_round
            if self.machine and self.machine.attested
            else None,
        }


def run_member(settings: OracleSettings) -> None:
    """Runs a member until SIGTERM/SIGINT."""
    member = Member(settings)
    asyncio.run(member.run())
