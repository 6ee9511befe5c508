"""The committee member process (`verai oracle run`): one module per concern.

``settings`` what the process is told; ``inputs`` the round's inputs read from the mirror at the
snapshot block; ``solve`` the pure solution and its cut into reports; ``document`` the published
round document; ``pacemaker`` who leads and who transmits; ``messages`` the authenticated peer
messages; ``machine`` the pure round state machine; ``persistence`` what survives a restart;
``peers`` the HTTP server and client; ``transmitter`` and ``keeper`` the transactions;
``publish`` the document store; ``audit`` the re-solve of a round; ``metrics`` Prometheus;
``member`` wires them into one process. Only ``member``, ``peers``, ``transmitter``, ``keeper``,
``publish``, ``persistence`` and ``inputs`` do I/O; the others are pure.
"""
